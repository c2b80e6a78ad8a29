// A large DMS task made here from a seed, for the page test on a large table and the module's
// review benchmark: a headerless full load of `users` (`user_id,name,city,last_login`, keys
// 1..rows) and change files (`Op,user_id,name,city,last_login`) named by DMS's time.
//
// The changes update every tenth key (10, 20, ...: 192790 among them), insert rows/20 new keys
// after the last one, and delete every 97th key from 5 on; the same arguments give the same
// bytes.

const CITIES = [
  "New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
  "San Diego", "Dallas", "Austin", "Jacksonville", "Columbus", "Seattle", "Denver", "Boston",
  "Portland", "Springfield", "Nashville", "Miami", "Atlanta", "Sprngfield",
];
const FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda"];
const LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"];

/** SplitMix32-like: small and the same everywhere. */
function rng(seed) {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z % n;
  };
}

const pad = (n) => String(n).padStart(2, "0");

/** A date from 2017-01-01 plus `days` (at most 1,750: up to 2021-10-17), as YYYY-MM-DD. */
function date(days) {
  const d = new Date(Date.UTC(2017, 0, 1) + days * 86_400_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

const DATES = Array.from({ length: 1751 }, (_, days) => date(days));

function row(random) {
  // Cities by a rough Zipf law: the first ones far more often.
  const city = CITIES[Math.min(random(CITIES.length), random(CITIES.length))];
  return `${FIRST[random(FIRST.length)]} ${LAST[random(LAST.length)]},${city},${DATES[random(1751)]}`;
}

/** `{ load, changes: [{ name, text }] }` for `rows` users and `files` change files. */
export function workload(rows, files = 3, seed = 7) {
  const random = rng(seed);
  const load = [];
  for (let key = 1; key <= rows; key++) load.push(`${key},${row(random)}\n`);
  const changes = [];
  for (let key = 10; key <= rows; key += 10) changes.push(`U,${key},${row(random)}\n`);
  for (let key = 5; key <= rows; key += 97) if (key % 10 !== 0) changes.push(`D,${key},${row(random)}\n`);
  for (let key = rows + 1; key <= rows + rows / 20; key++) changes.push(`I,${key},${row(random)}\n`);
  const per = Math.ceil(changes.length / files);
  const out = [];
  for (let f = 0; f < files; f++) {
    out.push({ name: `20211018-${pad(f + 1)}0000000.csv`, text: changes.slice(f * per, (f + 1) * per).join("") });
  }
  return { load: load.join(""), changes: out };
}
