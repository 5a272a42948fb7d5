"""Push: publish a blessed model as the next registry version and promote it."""
