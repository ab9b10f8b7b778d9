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


LEGS_KEY = ("server_ip, server_port, sni, protocol, group_name, group_family, verdict, reason,"
            " offers_pq, hrr, hrr_group, band, ch_seg0, slow")


# Each table over all sensors (schema 16): its per-sensor table, its key
# without the sensor, and its value columns as the per-sensor rows sum up.
ALL_TWINS = {
    "rollup_legs_all": ("rollup_legs", LEGS_KEY,
                        "sum(n), min(first_us), max(last_us), max(max_ch_to_sh_us),"
                        " max(newest_first_us)",
                        "n, first_us, last_us, max_ch_to_sh_us, newest_first_us"),
    "rollup_fp_clients_all": ("rollup_fp_clients", "fp_id, protocol, client_ip", "sum(n)", "n"),
    "rollup_fp_endpoints_all": ("rollup_fp_endpoints",
                                "fp_id, protocol, server_ip, server_port, sni", "sum(n)", "n"),
}


def legs_all_is_legs(db):
    """Whether each table over all sensors (schema 16: rollup_legs_all,
    rollup_fp_clients_all, rollup_fp_endpoints_all) is its per-sensor
    table regrouped over the sensors, row for row."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for table, (of, key, sums, cols) in ALL_TWINS.items():
            want = sorted(con.execute(f"SELECT {key}, {sums} FROM {of} GROUP BY {key}").fetchall(),
                          key=repr)
            got = sorted(con.execute(f"SELECT {key}, {cols} FROM {table}").fetchall(), key=repr)
            if got != want or not got:
                return False
        return True
    finally:
        con.close()
