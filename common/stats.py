"""Statistics every stage reports with."""
import math


def wilson_interval(k, n, z=1.96):
    """95% confidence interval of a proportion k/n (Wilson score; sound near 0 and 1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
