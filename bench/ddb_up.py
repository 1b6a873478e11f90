"""`introaws ddb up` on the local cloud: first deploy (cloud start + synth + deploy), a repeat
(cache hit, no changes), and `ddb write 1000` + `ddb scan` (JSON)."""

from __future__ import annotations

from _util import emit, env_for, new_home, timed

if __name__ == "__main__":
    home = new_home()
    env = env_for(home)
    try:
        first = timed(["ddb", "up"], env)
        again = [timed(["ddb", "up"], env) for _ in range(3)]
        write = timed(["ddb", "write", "1000"], env)
        scan = timed(["ddb", "scan", "--json"], env)
        timed(["cloud", "stop"], env)
        restart_scan = timed(["ddb", "scan", "--json"], env)
        emit(
            {
                "benchmark": "ddb_up_local",
                "first_up_s": round(first, 2),
                "repeat_up_s": [round(s, 2) for s in again],
                "write_1000_s": round(write, 2),
                "write_items_per_s": round(1000 / write, 1),
                "scan_1000_s": round(scan, 2),
                "scan_after_restart_s": round(restart_scan, 2),
            }
        )
    finally:
        timed(["cloud", "stop"], env)
