# SPDX-License-Identifier: BSD-2-Clause
"""Invariants of the SQLite rollups that more than one test checks."""
import sqlite3

# rollup_weekly_<what>: the daily rows' key without the sensor, and counts.
WEEKLY = {
    "endpoints": ("server_ip, server_port, sni",
                  "n, strong, declined, draft, tls13, tls12, encrypted, classical"),
    "clients": ("client_ip", "n, offer, nooffer"),
}


def weekly_is_daily(db):
    """Whether each weekly rollup row (schema 16) is the sum of its week's
    daily rows over all sensors, and no other row is there."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for what, (key, counts) in WEEKLY.items():
            sums = ", ".join(f"sum({c})" for c in counts.split(", "))
            want = sorted(con.execute(f"SELECT {key}, day / 7, {sums} FROM rollup_daily_{what}"
                                      f" GROUP BY {key}, day / 7").fetchall())
            got = sorted(con.execute(f"SELECT {key}, week, {counts}"
                                     f" FROM rollup_weekly_{what}").fetchall())
            if got != want or not got:
                return False
        return True
    finally:
        con.close()
