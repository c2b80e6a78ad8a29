//! A DMS task's output shaped like the peer benchmark's `1m` workload, made here from a seed:
//! a headerless full load of `users` (`user_id,name,city,last_login`) and change files
//! (`Op,ts,user_id,name,city,last_login`, `ts` strictly increasing) named by DMS's time.
//!
//! The changes are 55% updates, 35% inserts and 10% deletes; about a tenth of the keys they
//! touch change two to four times (`U..U`, `U..U,D`, `D,I,U..` on loaded keys, `I,U..` on new
//! keys, a quarter of those ending in `D`: inserted then deleted). Cities follow a Zipf law
//! over a list that holds names the bundled lookup finds in several states (Springfield,
//! Portland, ...) and a few it does not know (misspellings, made-up towns), so that a run has
//! unmatched and ambiguous lookups. A handful of anomalies (updates of keys that never existed,
//! inserts of loaded keys) are mixed in. The same seed gives the same bytes.

/// Cities by popularity, largest first. Several are names of places in more than one state.
const CITIES: [&str; 40] = [
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Phoenix",
    "Philadelphia",
    "San Antonio",
    "San Diego",
    "Dallas",
    "Austin",
    "Jacksonville",
    "Columbus",
    "Charlotte",
    "Seattle",
    "Denver",
    "Washington",
    "Nashville",
    "Portland",
    "Las Vegas",
    "Detroit",
    "Memphis",
    "Boston",
    "Kansas City",
    "Atlanta",
    "Miami",
    "Arlington",
    "Aurora",
    "Springfield",
    "Richmond",
    "Jackson",
    "Salem",
    "Madison",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Fairview",
    "Georgetown",
    "Lexington",
    "Burlington",
];

/// Names the lookup does not know, each with its share of rows in ten thousand.
const UNKNOWN: [(&str, u64); 4] = [
    ("Sprngfield", 9),
    ("Nw York", 6),
    ("Gotham", 3),
    ("Pawnee", 1),
];

const FIRST: [&str; 16] = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
];
const LAST: [&str; 16] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
];

/// SplitMix64: small, fast, and the same numbers on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A full load and its change files, as DMS names them.
pub struct Workload {
    pub load: Vec<u8>,
    /// `(name, bytes)`, e.g. `20211018-010000000.csv`.
    pub changes: Vec<(String, Vec<u8>)>,
}

/// Days since 2017-01-01 as `YYYY-MM-DD`.
fn date(mut days: u64) -> String {
    let mut year = 2017;
    loop {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let length = if leap { 366 } else { 365 };
        if days < length {
            let months = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            let mut month = 0;
            while days >= months[month] {
                days -= months[month];
                month += 1;
            }
            return format!("{year}-{:02}-{:02}", month + 1, days + 1);
        }
        days -= length;
        year += 1;
    }
}

/// Days from 2017-01-01 to 2021-10-18, the changes' last day.
const LAST_DAY: u64 = 1751;

struct Values {
    cities: Vec<(&'static str, u64)>,
    total: u64,
}

impl Values {
    fn new() -> Values {
        // Zipf weights (s = 1) in millionths, then the unknown names' shares.
        let mut cities: Vec<(&str, u64)> = CITIES
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, 1_000_000 / (i as u64 + 1)))
            .collect();
        let known: u64 = cities.iter().map(|c| c.1).sum();
        for (name, share) in UNKNOWN {
            cities.push((name, known * share / 10_000));
        }
        let total = cities.iter().map(|c| c.1).sum();
        Values { cities, total }
    }

    fn city(&self, rng: &mut Rng) -> &'static str {
        let mut at = rng.below(self.total);
        for (name, weight) in &self.cities {
            if at < *weight {
                return name;
            }
            at -= weight;
        }
        unreachable!()
    }

    /// `name,city,last_login` of one row; `newest` is the last day a login may be.
    fn row(&self, rng: &mut Rng, newest: u64) -> String {
        let first = FIRST[rng.below(16) as usize];
        let last = LAST[rng.below(16) as usize];
        let city = self.city(rng);
        format!("{first} {last},{city},{}", date(rng.below(newest + 1)))
    }
}

/// `users` rows `1..=rows` and about `rows / 10` changes in `files` change files.
pub fn workload(rows: u64, files: usize, seed: u64) -> Workload {
    let mut rng = Rng::new(seed);
    let values = Values::new();
    let mut load = String::with_capacity(rows as usize * 40);
    for key in 1..=rows {
        // The full load was taken before the changes: logins up to 2021-10-01.
        load.push_str(&format!("{key},{}\n", values.row(&mut rng, LAST_DAY - 17)));
    }

    // Each chain is one key's changes, in order.
    let changes = rows / 10;
    let mut chains: Vec<(u64, Vec<char>)> = Vec::new();
    let mut loaded: Vec<u64> = (1..=rows).collect();
    rng.shuffle(&mut loaded);
    let mut loaded = loaded.into_iter();
    let mut next_new = rows + 1;
    let mut planned = 0;
    // Chains of two to four changes: about a tenth of the keys touched.
    while planned < changes / 5 {
        let length = 2 + rng.below(3) as usize;
        let ops: Vec<char> = if rng.chance(400) {
            let key = next_new;
            next_new += 1;
            let mut ops = vec!['I'];
            ops.extend(std::iter::repeat_n('U', length - 1));
            if rng.chance(250) {
                *ops.last_mut().unwrap() = 'D';
            }
            chains.push((key, ops.clone()));
            ops
        } else {
            let key = loaded.next().unwrap();
            let pattern = rng.below(4);
            let ops = match pattern {
                0 | 1 => vec!['U'; length],
                2 => {
                    let mut ops = vec!['U'; length - 1];
                    ops.push('D');
                    ops
                }
                _ => {
                    let mut ops = vec!['D', 'I'];
                    ops.extend(std::iter::repeat_n('U', length - 2));
                    ops
                }
            };
            chains.push((key, ops.clone()));
            ops
        };
        planned += ops.len() as u64;
    }
    // Single changes fill up the mix to 35% inserts and 10% deletes.
    let count = |op| {
        chains
            .iter()
            .map(|(_, ops)| ops.iter().filter(|o| **o == op).count() as u64)
            .sum::<u64>()
    };
    let inserts = (changes * 35 / 100).saturating_sub(count('I'));
    let deletes = (changes / 10).saturating_sub(count('D'));
    let updates = changes - planned - inserts - deletes;
    for _ in 0..inserts {
        chains.push((next_new, vec!['I']));
        next_new += 1;
    }
    for (op, n) in [('U', updates), ('D', deletes)] {
        for _ in 0..n {
            chains.push((loaded.next().unwrap(), vec![op]));
        }
    }
    // A few anomalies: updates of keys that never existed, inserts of loaded keys.
    for i in 0..7 {
        chains.push((rows * 10 + i * 7919, vec!['U']));
    }
    for _ in 0..3 {
        chains.push((loaded.next().unwrap(), vec!['I']));
    }

    // Interleave the chains at random, each in its own order: a slot per change, shuffled.
    let mut slots: Vec<u32> = chains
        .iter()
        .enumerate()
        .flat_map(|(i, (_, ops))| std::iter::repeat_n(i as u32, ops.len()))
        .collect();
    rng.shuffle(&mut slots);
    let mut taken = vec![0usize; chains.len()];
    let per_file = slots.len().div_ceil(files);
    let mut out = Vec::new();
    for (f, part) in slots.chunks(per_file).enumerate() {
        // File f covers hour f of 2021-10-18; the rows' ts step by 10 ms within it.
        let name = format!("20211018-{:02}0000000.csv", f + 1);
        let mut text = String::with_capacity(part.len() * 60);
        for (n, &chain) in part.iter().enumerate() {
            let (key, ops) = &chains[chain as usize];
            let op = ops[taken[chain as usize]];
            taken[chain as usize] += 1;
            let millis = n as u64 * 10;
            let ts = format!(
                "2021-10-18 {:02}:{:02}:{:02}.{:03}000",
                f + 1,
                millis / 60_000 % 60,
                millis / 1000 % 60,
                millis % 1000
            );
            let row = values.row(&mut rng, LAST_DAY);
            text.push_str(&format!("{op},{ts},{key},{row}\n"));
        }
        out.push((name, text.into_bytes()));
    }
    Workload {
        load: load.into_bytes(),
        changes: out,
    }
}
