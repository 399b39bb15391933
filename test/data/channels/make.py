#!/usr/bin/env python3
"""Write LP_300000021_20240306T010000.csv: one meter's day on 21 channels.

Written for this project (not a real export), in the shape of the held-out
21-channel LP export the channels issue describes: volts, amps, kW, kVA,
kvar, degrees and energy registers in Wh, kWh and varh.  Values are
decimals with at most three places, so sums can be checked exactly.  Run
it again to get the same bytes.
"""

CHANNELS = [
    ("Voltage Ph A", "V"), ("Voltage Ph B", "V"), ("Voltage Ph C", "V"),
    ("Current Ph A", "A"), ("Current Ph B", "A"), ("Current Ph C", "A"),
    ("Active Power", "kW"), ("Apparent Power", "kVA"), ("Reactive Power", "kvar"),
    ("Phase Angle A", "degrees"), ("Phase Angle B", "degrees"), ("Phase Angle C", "degrees"),
    ("Import Wh Total", "Wh"), ("Export Wh Total", "Wh"),
    ("Import kWh Rate 1", "kWh"), ("Import kWh Rate 2", "kWh"),
    ("Import varh Total", "varh"), ("Export varh Total", "varh"),
    ("Import kvarh Total", "kvarh"), ("Power Factor", "PF"), ("Frequency", "Hz"),
]

HEADER = "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status"


def value(c, j):
    # channel c, reading j: a few distinct decimals per channel
    base = [230, 231, 229, 12, 11, 13, 4, 5, 1, 30, 150, 270, 250, 0, 1, 0, 80, 5, 0, 0, 50][c]
    step = [0.5, 0.25, 0.125, 0.75, 0.5, 0.25, 0.125, 0.5, 0.25, 1, 1, 1, 12.5, 2.5, 0.001, 0.002, 3, 0.5, 0.004, 0.01, 0.01][c]
    return round(base + (j % 7) * step, 3)


def main():
    lines = [HEADER]
    for c, (dtype, unit) in enumerate(CHANNELS):
        for j in range(96):
            # channel 3 misses two readings (a gap); channel 5 has flagged reads
            if c == 3 and j in (40, 41):
                continue
            minutes = 15 * j
            at = "06/03/2024 %02d:%02d:00" % (minutes // 60, minutes % 60)
            status = "E" if c == 5 and j % 10 == 0 else ""
            lines.append("300000021,300000021,PL21,%s,%s,%s,%s,%s"
                         % (at, dtype, format(value(c, j), "f").rstrip("0").rstrip("."), unit, status))
    with open("LP_300000021_20240306T010000.csv", "w", newline="") as f:
        f.write("\r\n".join(lines) + "\r\n")


if __name__ == "__main__":
    main()
