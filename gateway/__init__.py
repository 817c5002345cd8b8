"""The candidate-side real-time voice gateway of the ZenHire Interview API."""
