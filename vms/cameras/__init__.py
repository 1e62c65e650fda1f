"""Camera stream workers: sources, recording to segments, analysis frames, health."""
