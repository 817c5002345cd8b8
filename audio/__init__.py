"""Pure audio code: frames, resampling, levels, voice activity, WAV files.

Nothing here touches asyncio or the network: bytes and arrays in, values out.
"""
