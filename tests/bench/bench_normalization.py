"""Normalization throughput on synthetic messy leads (pure CPU, no database).

The leads are seeded and realistic in how values repeat: emails and phone numbers are
unique per lead, names, companies, titles and countries come from pools, as in a real
import. Caches are cleared first, so the figure includes warming them.
"""
import random
import time

from tests.bench.support import print_table

FIRST = ["john", "JANE", "Mary-Kate", "josé", "ZOË", "Li", "Ahmed", "siobhan", "Jürgen", "Olga", "Wei",
         "Priya", "Robert", "Bob", "DeAndre", "Ana", "Sean", "Søren", "François", "Yuki", "Иван"]
LAST = ["smith", "O'BRIEN", "mcdonald", "van der berg", "DE LA CRUZ", "Müller", "García López", "Nguyen",
        "Kowalski", "d'angelo", "MacLeod", "Ivanova", "Dubois", "Rossi", "Jensen", "Петров", "Schmidt"]
HONORIFICS = ["", "", "", "", "Dr. ", "Mr. ", "Ms. ", "Prof. "]
SUFFIXES = ["", "", "", "", " Jr.", ", PhD", " III", " MBA"]
CJK = ["张伟", "王芳", "李娜", "欧阳娜娜", "김민수", "이서연", "山田 太郎"]
COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Müller & Söhne",
           "Hooli", "Vandelay Industries", "Soylent", "Tyrell", "Cyberdyne Systems", "Aperture Science", "Wonka"]
LEGAL = ["", " Inc.", ", Inc", " LLC", " Ltd", " GmbH", " S.A.", " GmbH & Co. KG", " Corp.", " B.V.", " plc"]
TITLES = ["CEO", "Co-Founder & CEO", "VP of Sales", "SVP, Marketing", "Director of Engineering",
          "Head of People", "Sr. Software Engineer", "Product Manager", "IT Manager", "Account Executive",
          "Customer Success Manager", "CFO", "Geschäftsführer", "Marketing Coordinator", "Intern", "",
          "  senior   data scientist ", "Directeur Général", "Operations Manager", "General Counsel"]
COUNTRIES = [("US", "United States"), ("US", "USA"), ("US", ""), ("GB", "UK"), ("GB", "United Kingdom"),
             ("DE", "Deutschland"), ("DE", "DE"), ("FR", "France"), ("ES", "España"), ("CN", "China"),
             ("JP", "Japan"), ("BR", "Brasil"), ("IN", "India"), ("AU", "Australia")]
PHONE = {
    "US": ["({a}) 555-{b:04d}", "{a}.555.{b:04d}", "+1 {a} 555 {b:04d}", "1-{a}-555-{b:04d} x12"],
    "GB": ["020 7946 {b:04d}", "+44 (0)20 7946 {b:04d}", "07700 9{b:05d}"],
    "DE": ["030 1234{b:04d}", "+49 30 1234{b:04d}", "0049 151 2345{b:04d}"],
    "FR": ["01 23 45 {c:02d} {d:02d}", "+33 6 12 34 {c:02d} {d:02d}"],
    "ES": ["+34 612 3{b:04d}"],
    "CN": ["+86 138 0013 {b:04d}"],
    "JP": ["03-1234-{b:04d}", "+81 90 1234 {b:04d}"],
    "BR": ["+55 11 9{b:04d}-1234"],
    "IN": ["+91 98{b:04d}1234"],
    "AU": ["(02) 9{b:03d} 1234", "+61 4{b:02d} 123 456"],
}
MAIL = ["gmail.com", "googlemail.com", "yahoo.com", "hotmail.co.uk", "outlook.com", "gmial.com", "mailinator.com",
        "web.de", "qq.com"]
WEBSITE = ["www.{d}.com", "https://{d}.co.uk/", "HTTP://WWW.{D}.DE/about?utm_source=x", "{d}.io", "n/a", ""]


def make_leads(n: int, seed: int = 7):
    from leads.models import Lead
    from processing.normalization.text import letters_key

    rnd = random.Random(seed)
    leads = []
    for i in range(n):
        code, country = rnd.choice(COUNTRIES)
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        slug = rnd.choice(COMPANY)
        d = slug.split()[0].lower().replace("ü", "u")
        fields = {"country": country, "company": f"  {slug}{rnd.choice(LEGAL)} ", "title": rnd.choice(TITLES)}
        shape = rnd.random()
        if shape < 0.15:
            fields["full_name"] = rnd.choice(CJK)
        elif shape < 0.45:
            fields["full_name"] = f"{rnd.choice(HONORIFICS)}{first} {last}{rnd.choice(SUFFIXES)}"
        else:
            fields["first_name"], fields["last_name"] = f" {first}", f"{last} "
        # Mailboxes are ASCII in practice ("jose.garcia"); one in a hundred is not.
        local = letters_key(first) + "." + letters_key(last)
        if not local.isascii() or rnd.random() < 0.01:
            local = f"{first}.{last}".lower().replace(" ", "") if rnd.random() < 0.01 else f"contact{i % 97}"
        if rnd.random() < 0.5:
            fields["email"] = f" {local.upper()}{i}@{d}.com "
        else:
            fields["email"] = f"{local}+tag{i}@{rnd.choice(MAIL)}"
        fmt = rnd.choice(PHONE[code])
        fields["phone"] = fmt.format(a=rnd.choice([212, 415, 646, 312]), b=i % 10000, c=i % 100, d=(i // 100) % 100)
        if rnd.random() < 0.05:
            fields["phone"] = rnd.choice(["n/a", "12", "call me", "+999 1234"])
        fields["website"] = rnd.choice(WEBSITE).format(d=d, D=d.upper())
        if rnd.random() < 0.3:
            fields["linkedin_url"] = f"https://www.linkedin.com/in/{local}-{i}/"
        fields["raw"] = dict(fields)
        leads.append(Lead(**fields))
    return leads


def _rate(n: int, fn) -> tuple[float, int, int]:
    """(wall seconds, leads/s by wall time, leads per CPU second) of one call."""
    started, cpu_started = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return wall, round(n / wall), round(n / max(cpu, 1e-9))


def run(n: int) -> dict[str, float]:
    from processing.normalization import (
        classify_title, clear_caches, company_key, normalize_email, normalize_leads, normalize_name,
        normalize_phone,
    )

    n = min(n, 100_000)
    leads = make_leads(n)
    inputs = [(lead.email, lead.first_name, lead.last_name, lead.full_name, lead.phone, lead.company, lead.title)
              for lead in leads]

    clear_caches()
    wall, per_s, per_cpu_s = _rate(n, lambda: normalize_leads(leads, default_region="US"))
    # Second pass over its own output: a re-run of the pipeline on processed leads.
    _, rerun_per_s, rerun_per_cpu_s = _rate(n, lambda: normalize_leads(leads, default_region="US"))
    rows = [("normalize_leads (cold caches)", n, f"{wall:.2f}", per_s, per_cpu_s),
            ("normalize_leads (re-run on its output)", n, "", rerun_per_s, rerun_per_cpu_s)]
    # Where the time goes: each rule alone over the same raw values, caches cold.
    rules = {
        "  email": lambda: [normalize_email(row[0]) for row in inputs],
        "  name": lambda: [normalize_name(row[1], row[2], row[3]) for row in inputs],
        "  phone": lambda: [normalize_phone(row[4], "US") for row in inputs],
        "  company key": lambda: [company_key(row[5]) for row in inputs],
        "  title": lambda: [classify_title(row[6]) for row in inputs],
    }
    for label, fn in rules.items():
        clear_caches()
        wall, rule_per_s, rule_per_cpu_s = _rate(n, fn)
        rows.append((label, n, f"{wall:.2f}", rule_per_s, rule_per_cpu_s))
    print_table(rows, ("what", "leads", "wall s", "leads/s", "leads per CPU s"))
    # CPU-time rate too: on a shared machine wall time mostly measures the neighbours.
    return {"normalize_leads_per_s": per_s, "normalize_leads_per_cpu_s": per_cpu_s}
