"""Settings of each pipeline step, in one place, free of the steps' heavy imports."""
