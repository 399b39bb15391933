#!/usr/bin/env python3
"""Client uploads: a loop of energy_load_data calls, one transaction per call
(autocommit, what a driver does by default) against one transaction around
the whole loop.

Each file is a day of one meter's LP export (4 channels, 15-minute
intervals: 384 readings), as a client that cannot place files on the server
uploads a folder of daily exports.  Connects with libpq's environment
(PGHOST, PGPORT, PGDATABASE, PGUSER: pg_virtualenv sets them), creates the
extension in a database of its own, and prints files/s and readings/s of
each way, best of --rounds.

    pg_virtualenv -v 15 /usr/bin/python3 bench/client_uploads.py [--files 400] [--rounds 3]

Needs python3-psycopg2 (scripts/setup installs it), a module of Debian's
/usr/bin/python3.
"""

import argparse
import datetime as dt
import time

import psycopg2

HEADER = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n"
CHANNELS = ["Import Wh Total", "Export Wh Total", "Import varh Total", "Export varh Total"]


def export(meter, day):
    """One meter's day: 4 channels x 96 readings."""
    lines = [HEADER]
    for c, channel in enumerate(CHANNELS):
        for i in range(96):
            at = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=15 * (i + 1))
            value = ((meter * 7 + i * 13 + c) % 50) / 10
            lines.append("%d,%d,P%d,%s,%s,%.1f,kwh,\n" % (
                meter, meter, meter, at.strftime("%d/%m/%Y %H:%M:%S"), channel, value))
    return "".join(lines).encode()


def upload(conn, files, one_transaction):
    """Every file through energy_load_data; returns the seconds it took."""
    cur = conn.cursor()
    start = time.perf_counter()
    if one_transaction:
        conn.autocommit = False
    for name, data in files:
        cur.execute("SELECT rows_loaded FROM energy_load_data(%s, %s)", (name, psycopg2.Binary(data)))
        cur.fetchall()
    if one_transaction:
        conn.commit()
        conn.autocommit = True
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    admin = psycopg2.connect(dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute("DROP DATABASE IF EXISTS energy_client_bench")
    admin.cursor().execute("CREATE DATABASE energy_client_bench")
    conn = psycopg2.connect(dbname="energy_client_bench")
    conn.autocommit = True
    conn.cursor().execute("CREATE EXTENSION energy")

    first = dt.date(2024, 1, 1)
    files = [("LP_%d_%s.csv" % (900000 + i % 20, first + dt.timedelta(days=i // 20)),
              export(900000 + i % 20, first + dt.timedelta(days=i // 20)))
             for i in range(args.files)]
    readings = 96 * len(CHANNELS) * len(files)

    best = {}
    for r in range(args.rounds):
        for one in (False, True):
            # each round loads new files: the same names would be "unchanged"
            conn.cursor().execute("SELECT energy_unload(file_name) FROM energy_file")
            conn.cursor().execute("VACUUM")
            seconds = upload(conn, files, one)
            best[one] = min(best.get(one, seconds), seconds)
    for one, label in ((False, "autocommit, one transaction per file"),
                       (True, "one transaction around the loop")):
        print("%-40s %7.0f files/s %10.0f readings/s" % (
            label, len(files) / best[one], readings / best[one]))
    print("speed-up: %.2fx (%d files of %d readings, best of %d)" % (
        best[False] / best[True], len(files), readings // len(files), args.rounds))
    conn.close()
    admin.cursor().execute("DROP DATABASE energy_client_bench")


if __name__ == "__main__":
    main()
