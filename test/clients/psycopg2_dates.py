#!/usr/bin/python3
"""Days as a real driver sends them: psycopg2 (Debian's python3-psycopg2).

The one-day and range lookups get a Python date, a datetime with a zone
(as an ISO string, as the session's text of a timestamptz, and as the
instant converted to UTC), and dd/mm/yyyy strings under a month-first
DateStyle.  Each gives the day meant, or SQLSTATE 22007 with a hint: never
another day.  The expected rows are counted here from energy_data, not
from the lookups.

Runs against the server that libpq's environment names (pg_virtualenv sets
it), in a database of its own; the seed's exports are sent from datafiles/
with energy_load_data, so the server reads no file.  Exits 77 (skipped)
without psycopg2.  Prints one line per check and "psycopg2: N passed, M
failed"; exits 1 if any failed.
"""

import datetime as dt
import glob
import os
import sys

try:
    import psycopg2
    import psycopg2.errors
except ImportError:
    print("psycopg2: skipped (python3-psycopg2 not installed)")
    sys.exit(77)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DB = "energy_psycopg2"
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what)


def rows(cur, sql, args):
    cur.execute(sql, args)
    return cur.fetchall()


def sqlstate(cur, sql, args):
    """The error's SQLSTATE and hint, or None when the call succeeds."""
    cur.execute("SAVEPOINT s")
    try:
        cur.execute(sql, args)
        cur.fetchall()
    except psycopg2.Error as e:
        cur.execute("ROLLBACK TO SAVEPOINT s")
        return e.pgcode, e.diag.message_hint
    cur.execute("RELEASE SAVEPOINT s")
    return None, None


admin = psycopg2.connect(dbname="postgres")
admin.autocommit = True
admin.cursor().execute("DROP DATABASE IF EXISTS " + DB)
admin.cursor().execute("CREATE DATABASE " + DB)
conn = psycopg2.connect(dbname=DB)
cur = conn.cursor()
cur.execute("CREATE EXTENSION energy")
for path in sorted(glob.glob(os.path.join(ROOT, "datafiles", "*.csv"))):
    with open(path, "rb") as f:
        cur.execute("SELECT action FROM energy_load_data(%s, %s)", (path, psycopg2.Binary(f.read())))
cur.execute("SELECT energy_populate_view()")
conn.commit()

M, S = "210095893", "210095893"
GET = "SELECT day, readings FROM energy_get(%s, %s, %s)"
RANGE = "SELECT day, readings FROM energy_get(%s, %s, %s, %s)"
SEPT1 = dt.date(2015, 9, 1)
# the readings of 1 September, counted from the raw rows
cur.execute("SELECT count(*) FROM energy_data WHERE meter_code = %s AND serial_number = %s"
            " AND date_time >= '2015-09-01' AND date_time < '2015-09-02'", (M, S))
(sept1_readings,) = cur.fetchone()
check(sept1_readings == 12, "1 September has the seed's 12 readings in energy_data")
want = [(SEPT1, sept1_readings)]

brisbane = dt.timezone(dt.timedelta(hours=10))
local_midnight = dt.datetime(2015, 9, 1, tzinfo=brisbane)

# A date: psycopg2 sends '2015-09-01'::date.
check(rows(cur, GET, (M, S, SEPT1)) == want, "a date")
# A datetime with a zone at local midnight, as an ISO string.
check(rows(cur, GET, (M, S, local_midnight.isoformat())) == want,
      "local midnight with its zone, isoformat() (%s)" % local_midnight.isoformat())
# The same instant converted to UTC: the date written is 31 August.
utc = local_midnight.astimezone(dt.timezone.utc)
code, hint = sqlstate(cur, GET, (M, S, utc.isoformat()))
check(code == "22007" and hint and "yyyy-mm-dd" in hint,
      "the instant in UTC (%s): 22007 with a hint, not 31 August" % utc.isoformat())
code, _ = sqlstate(cur, GET, (M, S, utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")))
check(code == "22007", "as JavaScript's toISOString() writes it: 22007")
code, _ = sqlstate(cur, "SELECT energy_get_json(%s, %s, %s)", (M, S, utc.isoformat()))
check(code == "22007", "energy_get_json: 22007 too")
# The datetime object itself, made text by the server: the session's zone
# decides what is written, and only its own midnight is that day.
cur.execute("SET TimeZone = 'Australia/Brisbane'")
check(rows(cur, "SELECT day, readings FROM energy_get(%s, %s, %s::text)", (M, S, local_midnight)) == want,
      "a datetime as timestamptz text in the session's own zone")
cur.execute("SET TimeZone = 'UTC'")
code, _ = sqlstate(cur, "SELECT day, readings FROM energy_get(%s, %s, %s::text)", (M, S, local_midnight))
check(code == "22007", "a datetime as timestamptz text in UTC: 22007, not 31 August")
# A datetime without a zone is a wall-clock time of its date.
check(rows(cur, GET, (M, S, dt.datetime(2015, 9, 1, 13, 45).isoformat())) == want,
      "a naive datetime's isoformat(): its date")

# dd/mm/yyyy under a month-first DateStyle, one day and a range.
cur.execute("SET DateStyle = 'ISO, MDY'")
check(rows(cur, GET, (M, S, "01/09/2015")) == want, "'01/09/2015' with DateStyle MDY")
check(rows(cur, RANGE, (M, S, "01/09/2015", "01/09/2015")) == want,
      "range '01/09/2015'..'01/09/2015' with DateStyle MDY")
cur.execute("SELECT date_time::date, count(*) FROM energy_data WHERE meter_code = %s AND serial_number = %s"
            " AND date_time >= '2015-09-01' AND date_time < '2015-10-01' GROUP BY 1 ORDER BY 1",
            ("214612534", "214612534"))
september = cur.fetchall()
check(len(september) > 0 and rows(cur, RANGE, ("214612534", "214612534", "01/09/2015", "30/09/2015")) == september,
      "range '01/09/2015'..'30/09/2015': every day of September with data (%d)" % len(september))
check(rows(cur, RANGE, ("214612534", "214612534", dt.date(2015, 9, 1), dt.date(2015, 9, 30))) == september,
      "range of two dates")
code, _ = sqlstate(cur, RANGE, ("214612534", "214612534", utc.isoformat(), "30/09/2015"))
check(code == "22007", "range from a UTC instant: 22007")
check(rows(cur, RANGE, ("214612534", "214612534", local_midnight.isoformat(), "30/09/2015")) == september,
      "range from local midnight with its zone")

conn.rollback()
conn.close()
admin.cursor().execute("DROP DATABASE " + DB)
print("psycopg2: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
