#!/usr/bin/python3
"""bench/soak.py: the clients and the checks of bench/soak.

bench/soak starts a throw-away cluster with the energy extension and runs
this file against it.  Concurrent clients, each one psql process fed
statement by statement (so each call's outcome comes from psql itself:
:ERROR and :SQLSTATE after every statement, no driver needed):

  writers (--writers, at least 4)  energy_load_data of a name of a small
      pool: new content each time (a first load, or a replace of the name),
      now and then the content the name had before; or energy_unload.  The
      files share a few meters and days, overlap in time, and differ in
      their values, so that nearly every write resolves overlaps.
  populate      energy_populate_view() in a loop.
  lookups       energy_get and energy_get_channels of random meter-days.
  maintenance   VACUUM, CLUSTER and REINDEX of both views, VACUUM of the
      storage tables, every few seconds.

Every call is recorded: its kind, whether it committed, and its SQLSTATE if
not.  Every --check-every seconds, and at the end (writers stopped between
two calls, then a populate), the expected readings are computed here from
the bytes of the files still loaded (energy_file's
sha256 names the version; file_id order is load order; the copy of the
highest file_id wins, and within a file the later line), independently of
the extension, and compared exactly with energy_data and with both views,
and energy_verify() must return no row; the writers then go on.  At the
end, amcheck's bt_index_check (heapallindexed) runs on every B-tree index
of energy's tables and views.

Exit status 0 when nothing was lost, doubled or changed, no 23505, amcheck
found nothing, the views match, energy_verify() returned no row, and 40P01
ended under 1% of the writing calls; 1 otherwise; 2 when the soak itself
could not run.
"""

import argparse
import base64
import hashlib
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal

HEADER = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n"
CHANNELS = ["Import Wh Total", "Export Wh Total"]
DAY0 = 1                    # 01/09/2015 is the first day


class Psql:
    """One psql process, one connection: run() sends a statement and waits
    for the line that \\echo prints after it, with psql's :ERROR and
    :SQLSTATE of that statement."""

    MARK = "@@soak@@"

    def __init__(self, args, name):
        self.name = name
        self.err = open(f"{args.logdir}/{name}.stderr", "w")
        self.p = subprocess.Popen(
            [args.psql, "-X", "-q", "-At", "-h", args.host, "-p", str(args.port),
             "-U", "postgres", "-d", args.db, "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            text=True, bufsize=1)
        self.run("SET statement_timeout = '300s'")

    def run(self, sql):
        """Returns (rows, sqlstate): rows as lists of fields, sqlstate None
        when the statement succeeded."""
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.MARK + " :ERROR :SQLSTATE\n")
        self.p.stdin.flush()
        rows = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError(f"{self.name}: psql ended")
            line = line.rstrip("\n")
            if line.startswith(self.MARK):
                _, error, state = line.split(" ")
                return rows, (state if error == "true" else None)
            rows.append(line.split("|"))

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()
        self.err.close()


class Pool:
    """The files: a few names, each with the versions generated so far.
    A version is its bytes and its readings in file order."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.by_sha = {}            # sha256 hex -> (name, [(key, value), ...], bytes)
        self.versions = defaultdict(list)   # name -> [sha, ...]
        self.names = [f"soak_{i:02d}.csv" for i in range(args.names)]
        self.meters = [f"7{i:08d}" for i in range(1, args.meters + 1)]

    def new_version(self, rng, name):
        """Random content for name: one or two meters, one or two days, one
        or both channels, a window of the day's quarter hours, values with
        three decimals; now and then a reading repeated later in the file
        with another value (the later line wins)."""
        a = self.args
        meters = rng.sample(self.meters, rng.randint(1, min(2, len(self.meters))))
        first_day = rng.randint(DAY0, DAY0 + a.days - 1)
        days = [d for d in (first_day, first_day + 1) if d < DAY0 + a.days][:rng.randint(1, 2)]
        chans = rng.sample(CHANNELS, rng.randint(1, 2))
        lo = rng.randint(0, 95)
        hi = rng.randint(lo, min(95, lo + a.window))
        lines = []
        for m in meters:
            for c in chans:
                for d in days:
                    for s in range(lo, hi + 1):
                        v = f"{rng.randint(0, 99999) / 1000:.3f}"
                        lines.append((m, c, d, s, v))
        if len(lines) > 2 and rng.random() < 0.2:
            m, c, d, s, _ = rng.choice(lines[:-1])
            lines.append((m, c, d, s, f"{rng.randint(0, 99999) / 1000:.3f}"))
        text = HEADER + "".join(
            f"{m},{m},P{m},{d:02d}/09/2015 {s // 4:02d}:{s % 4 * 15:02d}:00,{c},{v},kwh,\n"
            for m, c, d, s, v in lines)
        data = text.encode()
        sha = hashlib.sha256(data).hexdigest()
        readings = [((m, c, f"2015-09-{d:02d} {s // 4:02d}:{s % 4 * 15:02d}:00"), Decimal(v))
                    for m, c, d, s, v in lines]
        with self.lock:
            self.by_sha[sha] = (name, readings, data)
            self.versions[name].append(sha)
        return data

    def old_version(self, rng, name):
        """The bytes of a version name had before (None when it has none)."""
        with self.lock:
            shas = list(self.versions[name])
            return self.by_sha[rng.choice(shas)][2] if shas else None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = Counter()      # kind -> calls
        self.commits = Counter()    # kind -> committed
        self.errors = Counter()     # (kind, sqlstate) -> n
        self.client_failures = []

    def record(self, kind, state):
        with self.lock:
            self.calls[kind] += 1
            if state is None:
                self.commits[kind] += 1
            else:
                self.errors[(kind, state)] += 1


def lit(data):
    return "decode('" + base64.b64encode(data).decode() + "', 'base64')"


SERIAL = threading.Lock()


class Gate:
    """Lets the main thread stop the writers between two calls, to check the
    state while nothing writes (populate, lookups and maintenance go on)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.paused = False
        self.busy = 0

    def enter(self):
        with self.cond:
            while self.paused:
                self.cond.wait()
            self.busy += 1

    def leave(self):
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()

    def pause(self):
        with self.cond:
            self.paused = True
            while self.busy:
                self.cond.wait()

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()


GATE = Gate()


def writer(args, pool, stats, deadline, n):
    rng = random.Random(args.seed * 1000 + n)
    db = Psql(args, f"writer{n}")
    try:
        while time.time() < deadline:
            GATE.enter()
            try:
                if args.serial:
                    with SERIAL:
                        write_one(args, pool, stats, db, rng)
                else:
                    write_one(args, pool, stats, db, rng)
            finally:
                GATE.leave()
    except Exception as e:  # noqa: BLE001 - reported, fails the soak
        stats.client_failures.append(f"writer{n}: {e}")
    finally:
        db.close()


def write_one(args, pool, stats, db, rng):
    """One writing call: an unload, or a load of old or new content."""
    name = rng.choice(pool.names)
    r = rng.random()
    if r < args.unload_share:
        _, state = db.run(f"SELECT energy_unload('{name}')")
        kind = "unload"
        if state == "58P01":
            kind, state = "unload of a name not loaded", None
        stats.record(kind, state)
        return
    data = pool.old_version(rng, name) if r < args.unload_share + 0.05 else None
    if data is None:
        data = pool.new_version(rng, name)
    rows, state = db.run(f"SELECT action FROM energy_load_data('{name}', {lit(data)})")
    if state is None:
        kind = {"loaded": "load", "replaced": "replace", "unchanged": "load (unchanged)"}.get(rows[0][0], rows[0][0])
    else:
        kind = "load or replace"
    stats.record(kind, state)


def populater(args, stats, deadline):
    db = Psql(args, "populate")
    try:
        while time.time() < deadline:
            _, state = db.run("SELECT energy_populate_view()")
            stats.record("populate", state)
            time.sleep(0.2)
    except Exception as e:  # noqa: BLE001
        stats.client_failures.append(f"populate: {e}")
    finally:
        db.close()


def looker(args, pool, stats, deadline):
    rng = random.Random(args.seed * 1000 + 999)
    db = Psql(args, "lookups")
    try:
        while time.time() < deadline:
            m = rng.choice(pool.meters)
            d = f"2015-09-{rng.randint(DAY0, DAY0 + args.days - 1):02d}"
            fn = rng.choice(["energy_get", "energy_get_channels"])
            _, state = db.run(f"SELECT count(*) FROM {fn}('{m}', '{m}', date '{d}')")
            stats.record("lookup", state)
            time.sleep(0.01)
    except Exception as e:  # noqa: BLE001
        stats.client_failures.append(f"lookups: {e}")
    finally:
        db.close()


MAINTENANCE = [
    "VACUUM energy_data_view",
    "VACUUM energy_channel_view",
    "CLUSTER energy_data_view USING energy_data_view_key",
    "CLUSTER energy_channel_view USING energy_channel_view_key",
    "REINDEX TABLE energy_data_view",
    "REINDEX TABLE energy_channel_view",
    "VACUUM energy_daily, energy_reading, energy_segment, energy_file, energy_change",
]


def maintainer(args, stats, deadline):
    db = Psql(args, "maintenance")
    i = 0
    try:
        while time.time() < deadline:
            time.sleep(args.maintenance_every)
            _, state = db.run(MAINTENANCE[i % len(MAINTENANCE)])
            stats.record("maintenance", state)
            i += 1
    except Exception as e:  # noqa: BLE001
        stats.client_failures.append(f"maintenance: {e}")
    finally:
        db.close()


def fnum(x):
    return float(x)


def check(args, pool, db, problems):
    """The final state against what the files still loaded say."""
    rows, state = db.run("SELECT energy_populate_view()")
    if state:
        problems.append(f"final populate failed: {state}")
        return {}
    files, _ = db.run("SELECT file_id, file_name, encode(sha256, 'hex') FROM energy_file ORDER BY file_id")
    expected = {}                   # key -> (value, file_id)
    for fid, name, sha in files:
        if sha not in pool.by_sha:
            problems.append(f"energy_file has {name} (file_id {fid}) with content no client sent")
            continue
        if pool.by_sha[sha][0] != name:
            problems.append(f"energy_file has {name} with the content of {pool.by_sha[sha][0]}")
        for key, value in pool.by_sha[sha][1]:
            expected[key] = (value, int(fid))
    actual = defaultdict(list)
    data, state = db.run("SELECT meter_code, data_type, to_char(date_time, 'YYYY-MM-DD HH24:MI:SS'), energy, file_id FROM energy_data")
    if state:
        problems.append(f"reading energy_data failed: {state}")
    for m, c, ts, v, fid in data:
        actual[(m, c, ts)].append((fnum(v), int(fid)))
    lost = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    doubled = [k for k, v in actual.items() if len(v) > 1]
    wrong = [k for k, v in actual.items() if k in expected and len(v) == 1
             and (v[0][0] != float(expected[k][0]) or v[0][1] != expected[k][1])]
    counts = {"files loaded": len(files), "readings expected": len(expected),
              "rows of energy_data": len(data), "lost": len(lost),
              "doubled": len(doubled), "not in any loaded file": len(extra),
              "wrong value or file": len(wrong)}
    for what, keys in (("lost", lost), ("doubled", doubled), ("not in any loaded file", extra),
                       ("wrong value or file", wrong)):
        if keys:
            k = sorted(keys)[0]
            problems.append(f"{len(keys)} readings {what}, e.g. {k}: expected {expected.get(k)}, energy_data {actual.get(k)}")

    # energy_data_view: one row per meter and day over every channel
    day_vals = defaultdict(list)
    chan_vals = defaultdict(list)
    for (m, c, ts), (v, _) in expected.items():
        day_vals[(m, ts[:10])].append(v)
        chan_vals[(m, ts[:10], c)].append(v)
    view, state = db.run("SELECT meter_code, day, min_energy, max_energy, avg_energy, readings FROM energy_data_view")
    if state:
        problems.append(f"reading energy_data_view failed: {state}")
    seen = set()
    bad = 0
    for m, d, lo, hi, avg, n in view:
        seen.add((m, d))
        vals = day_vals.get((m, d))
        if not vals:
            bad += 1
            problems.append(f"energy_data_view has {m} {d}, which no loaded file has") if bad <= 3 else None
            continue
        exp_avg = sum(vals) / len(vals)
        if (int(n) != len(vals) or fnum(lo) != float(min(vals)) or fnum(hi) != float(max(vals))
                or abs(Decimal(avg) - exp_avg) > Decimal("1e-12") * max(abs(exp_avg), Decimal(1))):
            bad += 1
            if bad <= 3:
                problems.append(f"energy_data_view {m} {d}: {n} readings min {lo} max {hi} avg {avg}; "
                                f"expected {len(vals)} min {min(vals)} max {max(vals)} avg {exp_avg:.15g}")
    missing = [k for k in day_vals if k not in seen]
    if missing:
        bad += len(missing)
        problems.append(f"energy_data_view lacks {len(missing)} meter-days, e.g. {sorted(missing)[0]}")
    counts["energy_data_view rows"] = len(view)
    counts["energy_data_view rows wrong or missing"] = bad

    cview, state = db.run("SELECT meter_code, day, data_type, units, readings, sum_value, min_value, max_value FROM energy_channel_view")
    if state:
        problems.append(f"reading energy_channel_view failed: {state}")
    seen = set()
    bad = 0
    for m, d, c, u, n, s, lo, hi in cview:
        seen.add((m, d, c))
        vals = chan_vals.get((m, d, c))
        if not vals:
            bad += 1
            problems.append(f"energy_channel_view has {m} {d} {c}, which no loaded file has") if bad <= 3 else None
            continue
        if (u != "kWh" or int(n) != len(vals) or abs(Decimal(s) - sum(vals)) > Decimal("1e-9")
                or fnum(lo) != float(min(vals)) or fnum(hi) != float(max(vals))):
            bad += 1
            if bad <= 3:
                problems.append(f"energy_channel_view {m} {d} {c}: {n} readings sum {s} min {lo} max {hi} {u}; "
                                f"expected {len(vals)} sum {sum(vals)} min {min(vals)} max {max(vals)} kWh")
    missing = [k for k in chan_vals if k not in seen]
    if missing:
        bad += len(missing)
        problems.append(f"energy_channel_view lacks {len(missing)} meter-day-channels, e.g. {sorted(missing)[0]}")
    counts["energy_channel_view rows"] = len(cview)
    counts["energy_channel_view rows wrong or missing"] = bad

    # partials: none of a file that is gone, and each meter-day's count
    orphans, _ = db.run("SELECT count(*) FROM energy_daily d WHERE NOT EXISTS (SELECT FROM energy_file f WHERE f.file_id = d.file_id)")
    counts["partials of files not loaded"] = int(orphans[0][0])
    if int(orphans[0][0]):
        problems.append(f"{orphans[0][0]} partials of files that are not loaded")

    # the extension's own check of itself: no row when nothing contradicts
    rows, state = db.run("SELECT kind, meter_code, day, file_name, detail FROM energy_verify()")
    if state:
        problems.append(f"energy_verify() failed: {state}")
    counts["energy_verify() rows"] = len(rows)
    for row in rows[:3]:
        problems.append("energy_verify(): " + " ".join(row))
    if len(rows) > 3:
        problems.append(f"energy_verify(): {len(rows) - 3} more rows")
    return counts


def amcheck(db, problems):
    db.run("CREATE EXTENSION IF NOT EXISTS amcheck")
    idx, state = db.run("""
        SELECT i.indexrelid::regclass
          FROM pg_depend e
          JOIN pg_index i ON i.indrelid = e.objid
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_am a ON a.oid = ic.relam AND a.amname = 'btree'
         WHERE e.classid = 'pg_class'::regclass AND e.deptype = 'e'
           AND e.refclassid = 'pg_extension'::regclass
           AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'energy')
         ORDER BY 1""")
    if state or not idx:
        problems.append(f"amcheck: could not list energy's indexes ({state})")
        return 0
    n = 0
    for (name,) in idx:
        _, state = db.run(f"SELECT bt_index_check('{name}'::regclass, heapallindexed => true)")
        n += 1
        if state:
            problems.append(f"amcheck: bt_index_check of {name} failed: {state} (see the client log)")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--psql", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", default="soak")
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--names", type=int, default=16)
    ap.add_argument("--meters", type=int, default=4)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--window", type=int, default=48, help="most quarter hours a file has of a day, minus one")
    ap.add_argument("--unload-share", type=float, default=0.2)
    ap.add_argument("--maintenance-every", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-every", type=float, default=30,
                    help="seconds between checks with the writers paused (0: only the final check)")
    ap.add_argument("--serial", action="store_true",
                    help="writers take turns (a check of the soak itself: 1.1 passes it)")
    args = ap.parse_args()

    pool = Pool(args)
    stats = Stats()
    t0 = time.time()
    deadline = t0 + args.seconds
    threads = [threading.Thread(target=writer, args=(args, pool, stats, deadline, n)) for n in range(args.writers)]
    threads += [threading.Thread(target=populater, args=(args, stats, deadline)),
                threading.Thread(target=looker, args=(args, pool, stats, deadline)),
                threading.Thread(target=maintainer, args=(args, stats, deadline))]
    print(f"soak: {args.writers} writers{' taking turns (--serial)' if args.serial else ''} over {args.names} file names, {args.meters} meters, {args.days} days; "
          f"a populate, a lookup and a maintenance client; {args.seconds:g} s", flush=True)
    for t in threads:
        t.start()
    # checks on the way: the writers wait between two calls, the state is
    # checked as at the end, and they go on
    checks = 0
    mid_problems = []
    if args.check_every > 0:
        db = Psql(args, "midcheck")
        while time.time() + args.check_every < deadline - 1:
            time.sleep(args.check_every)
            GATE.pause()
            at = time.time() - t0
            found = []
            check(args, pool, db, found)
            checks += 1
            GATE.resume()
            mid_problems += [f"at {at:.0f} s: {p}" for p in found]
        db.close()
    for t in threads:
        t.join(timeout=max(1, deadline - time.time()) + 330)
        if t.is_alive():
            stats.client_failures.append(f"{t.name}: still running long after the deadline")
    elapsed = time.time() - t0

    problems = list(mid_problems)
    if any(t.is_alive() for t in threads):
        print("soak: clients are stuck; no final check", flush=True)
        counts = {}
        nidx = 0
    else:
        db = Psql(args, "check")
        counts = check(args, pool, db, problems)
        nidx = amcheck(db, problems)
        db.close()

    # the report
    write_kinds = ["load", "replace", "load (unchanged)", "load or replace", "unload"]
    writing = sum(stats.calls[k] for k in write_kinds)
    deadlocks = sum(n for (k, s), n in stats.errors.items() if s == "40P01" and k in write_kinds)
    dup = sum(n for (k, s), n in stats.errors.items() if s == "23505")
    print(f"\nsoak: {elapsed:.0f} s")
    print("calls by kind (committed / calls):")
    for k in sorted(stats.calls):
        print(f"  {k:32s} {stats.commits[k]:6d} / {stats.calls[k]}")
    print(f"writing calls: {writing}; 40P01: {deadlocks} ({100.0 * deadlocks / max(writing, 1):.2f}% of them); 23505: {dup}")
    others = Counter()
    for (k, s), n in stats.errors.items():
        if not (s == "40P01" and k in write_kinds) and s != "23505":
            others[(k, s)] += n
    if others:
        print("other errors (kind, SQLSTATE: count):")
        for (k, s), n in sorted(others.items()):
            print(f"  {k}, {s}: {n}")
    else:
        print("other errors: none")
    print("final state:")
    for k, v in counts.items():
        print(f"  {k}: {v}")
    print(f"checks with the writers paused: {checks} on the way ({len(mid_problems)} problems), and the final one")
    print(f"amcheck: {nidx} B-tree indexes checked (heapallindexed)")

    if writing == 0:
        problems.append("no writing call ran")
    if dup:
        problems.append(f"{dup} calls ended 23505")
    if deadlocks and deadlocks >= 0.01 * writing:
        problems.append(f"40P01 ended {deadlocks} of {writing} writing calls (target: under 1%)")
    for (k, s), n in others.items():
        # deadlocks between the maintenance client and populate or lookups
        # are the user's own locks (CLUSTER, REINDEX), not energy's writers
        if s == "40P01" and k in ("maintenance", "populate", "lookup"):
            continue
        problems.append(f"{n} {k} calls ended {s}")
    problems += stats.client_failures
    if problems:
        print("\nsoak: FAILED")
        for p in problems[:20]:
            print(f"  - {p}")
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more")
        return 1
    print("\nsoak: PASS (nothing lost or doubled, views and indexes consistent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
