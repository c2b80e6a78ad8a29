#!/usr/bin/env python3
"""Builds the seed golden table with a second, independent implementation (plain Python):
replay every change in file-name order into a dict, then compute each feature row by row.

    python3 core/tests/golden/make_seed_golden.py > core/tests/golden/seed_enriched.csv

Review the diff of the output by hand before committing it: it is the specification.
"""
import csv
import datetime as dt
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data")
AS_OF = dt.date(2021, 10, 18)
WINDOW = 90
RENAME = {"Nashville-Davidson": "Nashville"}

def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))

table = {}
for uid, name, city, last in rows(os.path.join(DATA, "seed", "LOAD00000001.csv")):
    table[int(uid)] = (name, city, last)
cdc = sorted(f for f in os.listdir(os.path.join(DATA, "seed")) if not f.startswith("LOAD"))
for f in cdc:
    for op, uid, name, city, last in rows(os.path.join(DATA, "seed", f)):
        if op == "D":
            table.pop(int(uid), None)
        else:
            table[int(uid)] = (name, city, last)

# city -> state: most populous place of that name, aliases first
best = {}
for r in csv.DictReader(open(os.path.join(DATA, "reference", "us_cities.csv"), newline="")):
    key = r["city"].strip().lower()
    if key not in best or int(r["population"]) > best[key][1]:
        best[key] = (r["state"], int(r["population"]))
state_by_code = {}
for r in csv.DictReader(open(os.path.join(DATA, "reference", "us_cities.csv"), newline="")):
    state_by_code[(r["city"].lower(), r["state_code"])] = r["state"]
alias = {}
for r in csv.DictReader(open(os.path.join(DATA, "reference", "city_aliases.csv"), newline="")):
    alias[r["alias"].lower()] = state_by_code[(r["city"].lower(), r["state_code"])]

def state_of(city):
    k = city.strip().lower()
    if k in alias:
        return alias[k]
    return best[k][0] if k in best else ""

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["user_id", "name", "city", "last_login", "state", "last_login_rank_by_city",
              "login_rate_last_3_months_by_city", "users_by_city"])
cutoff = AS_OF - dt.timedelta(days=WINDOW)
renamed = {uid: (n, RENAME.get(c, c), l) for uid, (n, c, l) in table.items()}
for uid in sorted(renamed):
    name, city, last = renamed[uid]
    same = [r for r in renamed.values() if r[1] == city]
    newer = {r[2] for r in same if r[2] > last}
    recent = sum(1 for r in same if dt.date.fromisoformat(r[2]) >= cutoff)
    out.writerow([uid, name, city, last, state_of(city), len(newer) + 1, repr(recent / len(same)), len(same)])
