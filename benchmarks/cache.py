"""How long a cached data set takes to load: the "second load" of ``--dataset mnist``.

Builds a cache entry the size of OpenML's mnist_784 (70,000 x 784 uint8, here the 10,000 real
MNIST test digits repeated 7 times, so it compresses like the real thing) in a temporary data home,
then times ``load_dataset("mnist")`` cache hits. No network is used.

    .venv/bin/python benchmarks/cache.py [--t10k DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_logreg.data import load_dataset
from mnist_logreg.data.idx import read_idx_dir
from mnist_logreg.data.cache import NpzCache
from mnist_logreg.data.sources import MNIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MNIST_LOGREG_T10K", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k")
    parser.add_argument("--t10k", default=default)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    images, labels, _, _ = read_idx_dir(args.t10k)
    with tempfile.TemporaryDirectory() as home:
        os.environ["MNIST_LOGREG_HOME"] = home
        cache = NpzCache(home)
        path = cache.save(MNIST.key, {"X": np.tile(images, (7, 1)), "y": np.tile(labels, 7),
                                      "source": np.array("benchmark")})
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            ds = load_dataset("mnist")
            seconds.append(time.perf_counter() - start)
        print(f"cache file: {path.stat().st_size / 2**20:.1f} MiB for X {ds.X.shape} {ds.X.dtype}")
        print(f"cache hit: median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s "
              f"over {args.repeat} loads (checksum verified each time)")


if __name__ == "__main__":
    main()
