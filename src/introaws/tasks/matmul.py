"""CPU vs GPU matrix multiplication, run on the box by ``introaws dnn bench`` (textbook ch. 6.x).

Stand-alone: only torch. Prints one JSON line: the size, seconds on the CPU, and seconds on
the GPU (synchronized, as GPU calls are asynchronous) when CUDA is there, else null.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def timed_matmul(torch, size: int, device: str, repeat: int) -> float:
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    torch.matmul(a, b)  # warm-up: kernels, allocator
    if device == "cuda":
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        torch.matmul(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="matmul", description=__doc__)
    parser.add_argument("--size", type=int, default=10000, help="matrices are SIZE x SIZE float32")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    if not 1 <= args.size <= 40000:
        print("error: --size must be between 1 and 40000", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        print("error: PyTorch is not installed on this machine", file=sys.stderr)
        return 3
    result = {
        "size": args.size,
        "threads": torch.get_num_threads(),
        "cpu_s": timed_matmul(torch, args.size, "cpu", args.repeat),
        "cuda": torch.cuda.is_available(),
        "gpu_s": None,
        "gpu_name": None,
    }
    if result["cuda"]:
        result["gpu_s"] = timed_matmul(torch, args.size, "cuda", args.repeat)
        result["gpu_name"] = torch.cuda.get_device_name(0)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
