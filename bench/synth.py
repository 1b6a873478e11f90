"""Template synthesis: cold (Node + jsii + CDK) vs cached (no Node), for each foundation stack."""

from __future__ import annotations

import os
import time

from _util import emit, new_home

STACKS = ("ddb", "s3")

if __name__ == "__main__":
    os.environ["INTROAWS_HOME"] = str(new_home())
    from introaws.deploy.synth import synthesize
    from introaws.stacks import HANDS_ONS

    results = {}
    for name in STACKS:
        start = time.perf_counter()
        cold = synthesize(HANDS_ONS[name])
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        cached = synthesize(HANDS_ONS[name])
        cached_s = time.perf_counter() - start
        assert not cold.cache_hit and cached.cache_hit
        results[name] = {
            "cold_s": round(cold_s, 3),
            "cached_s": round(cached_s, 5),
            "speedup": round(cold_s / cached_s, 1),
        }
    emit({"benchmark": "synth", "note": "the first cold synth also starts the jsii/Node kernel", "stacks": results})
