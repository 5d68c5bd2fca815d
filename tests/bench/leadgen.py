"""Seeded, labelled, messy B2B leads for the pipeline and dedupe benchmarks.

Each generated row is a dict of raw contact fields plus ``entity``: rows with the same
entity are the same real-world record (person or company), rows with different
entities are different ones. What makes it hard:

* duplicates: email case, Gmail dots/``+tags``/googlemail, phone formats, nicknames
  (from the same curated table the matcher uses, as a CRM export would show them) and
  typos, company legal suffixes and case, missing fields, a personal address instead
  of the work one;
* hard negatives: colleagues at one company (some sharing the switchboard number or
  a last name), namesakes (same first and last name) at different companies.
"""
import random
import string

from nicknames import NickNamer

FIRST = ("James Robert John Michael William David Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony "
         "Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan "
         "Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander "
         "Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle "
         "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra "
         "Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura "
         "Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine "
         "Debra Rachel Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly "
         "Priya Wei Yuki Ahmed Fatima Sven Ingrid Jurgen Olga Ivan Mateo Lucia Aarav Chen Hiroshi Siobhan Niamh").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
        "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
        "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
        "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
        "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
        "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
        "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
        "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
        "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
        "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman "
        "Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
        "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice "
        "Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer "
        "Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson "
        "Carroll Lane Riley Andrews Ruiz Harper Fox Riley Armstrong Carpenter Weaver Greene Lawrence Elliott Chavez "
        "Sims Austin Peters Kelley Franklin Lawson Fields Gutierrez Schultz Muller Kowalski Nakamura Tanaka Ivanova "
        "OBrien MacLeod Dubois Rossi Jensen Novak Horvat Kaur Singh Yamamoto Petrov Lindqvist Haddad Okafor").split()
WORDS = ("Blue River Summit Apex Quantum Harbor Pioneer Vertex Cedar Falcon Nimbus Crescent Granite Horizon Atlas "
         "Beacon Cobalt Delta Ember Fjord Golden Ivory Juniper Keystone Lumen Meridian Northwind Orchid Pinnacle "
         "Quartz Redwood Sierra Tidal Unity Vanguard Willow Zephyr Aurora Bright Clear Copper Crystal Echo Evergreen "
         "Fusion Iron Lunar Maple Nova Oak Onyx Polar Prime Radiant Sapphire Silver Solar Spruce Stellar Terra").split()
KINDS = ("Analytics Systems Logistics Health Labs Software Capital Foods Energy Robotics Media Networks Partners "
         "Consulting Dynamics Solutions Holdings Ventures Biotech Security Retail Cloud Data Works Group").split()
LEGAL = ["", "", " Inc", " Inc.", ", Inc.", " LLC", " Ltd", " Corp.", " GmbH", " Co."]
TITLES = ["CEO", "CTO", "VP of Sales", "VP Marketing", "Director of Engineering", "Head of Operations",
          "Sales Manager", "Marketing Manager", "Software Engineer", "Account Executive", "Product Manager", "CFO"]
STREETS = ["Main St", "Oak Avenue", "Market Street", "Park Road", "Elm St", "Broadway", "Mission Street"]
FREE = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com"]

_nicknamer = NickNamer()


def _phone_formats(area: int, exchange: int, line: int) -> list[str]:
    return [f"({area}) {exchange}-{line:04d}", f"+1 {area} {exchange} {line:04d}", f"{area}.{exchange}.{line:04d}",
            f"1-{area}-{exchange}-{line:04d}", f"+1{area}{exchange}{line:04d}"]


def _typo(rnd: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rnd.randrange(1, len(word) - 2)
    kind = rnd.random()
    if kind < 0.5:  # transposition
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.8:  # dropped letter
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]  # doubled letter


def _nickname(rnd: random.Random, first: str) -> str:
    names = sorted(n for n in _nicknamer.nicknames_of(first.lower()) if len(n) > 2)
    return rnd.choice(names).title() if names else first


class LeadGenerator:
    """``rows(n)`` yields labelled raw rows; about ``dup_rate`` of them are
    duplicates of an earlier entity."""

    def __init__(self, seed: int = 42, dup_rate: float = 0.25, company_size: int = 8):
        self.rnd = random.Random(seed)
        self.dup_rate = dup_rate
        self.company_size = company_size
        # Only recent entities and companies are kept (duplicates and colleagues come
        # from them), so memory stays flat however many rows are generated.
        self.entities: list[dict] = []
        self.companies: list[dict] = []
        self.next_entity = 0
        self.used_emails: set[str] = set()
        self.phone_seq = 0

    def _company(self) -> dict:
        rnd = self.rnd
        if self.companies and rnd.random() < 1 - 1 / self.company_size:
            return rnd.choice(self.companies)
        while True:
            name = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {rnd.choice(KINDS)}"
            if rnd.random() < 0.3:
                name += f" {rnd.choice(string.ascii_uppercase)}{rnd.randint(1, 99)}"
            domain = name.lower().replace(" ", "") + rnd.choice([".com", ".io", ".co"])
            if domain not in self.used_emails:
                self.used_emails.add(domain)
                break
        company = {"name": name, "domain": domain, "area": rnd.randint(201, 989),
                   "street": f"{rnd.randint(1, 9999)} {rnd.choice(STREETS)}", "postal_code": f"{rnd.randint(10000, 99999)}",
                   "city": rnd.choice(["Austin", "Boston", "Denver", "Seattle", "Chicago", "Atlanta", "Portland"])}
        company["switchboard"] = self._new_phone(company["area"])
        company["emails"] = set()
        self._keep(self.companies, company, len(self.used_emails), 2000)
        return company

    @staticmethod
    def _keep(ring: list, item, seq: int, size: int) -> None:
        """A ring buffer: the newest ``size`` items, O(1) per item."""
        if len(ring) < size:
            ring.append(item)
        else:
            ring[seq % size] = item

    def _new_phone(self, area: int) -> tuple:
        # Unique by construction: exchange and line come from a counter.
        self.phone_seq += 1
        return (area, 200 + (self.phone_seq // 10_000) % 800, self.phone_seq % 10_000)

    def _new_entity(self) -> dict:
        rnd = self.rnd
        company = self._company()
        kind = "company" if rnd.random() < 0.05 and not company.get("listed") else "person"
        if kind == "company":
            company["listed"] = True  # one company-only record per company
            entity = {"kind": kind, "company": company, "phone": company["switchboard"]}
        else:
            if self.entities and rnd.random() < 0.04:
                # A namesake: someone else's first and last name, at another company.
                other = rnd.choice(self.entities)
                first, last = (other["first"], other["last"]) if other["kind"] == "person" else (rnd.choice(FIRST), rnd.choice(LAST))
            else:
                first, last = rnd.choice(FIRST), rnd.choice(LAST)
            local = rnd.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}", f"{first}{last[0]}"]).lower()
            email = f"{local}@{company['domain']}"
            n = 2
            while email in company["emails"]:
                email = f"{local}{n}@{company['domain']}"
                n += 1
            company["emails"].add(email)
            personal = f"{first}.{last}{rnd.randint(1, 999)}@gmail.com".lower()
            # Some colleagues only list the switchboard: a shared number, different people.
            phone = company["switchboard"] if rnd.random() < 0.15 else self._new_phone(company["area"])
            entity = {"kind": kind, "company": company, "first": first, "last": last, "email": email,
                      "personal": personal, "phone": phone, "title": rnd.choice(TITLES)}
        entity["id"] = self.next_entity
        self.next_entity += 1
        self._keep(self.entities, entity, entity["id"], 20_000)
        return entity

    def _render(self, entity: dict, variant: bool) -> dict:
        rnd = self.rnd
        company = entity["company"]
        company_name = company["name"] + rnd.choice(LEGAL)
        if variant and rnd.random() < 0.2:
            company_name = company_name.upper()
        phone = rnd.choice(_phone_formats(*entity["phone"]))
        row = {"entity": entity["id"], "company": company_name, "phone": phone,
               "street": company["street"], "postal_code": company["postal_code"], "city": company["city"],
               "country": rnd.choice(["US", "USA", "United States", ""])}
        if entity["kind"] == "company":
            if variant:
                # Keep at least one contact point besides the name.
                drop = rnd.choice(["phone", "street", None])
                if drop:
                    row[drop] = ""
            row["website"] = rnd.choice([f"https://www.{company['domain']}/", company["domain"], ""])
            return row
        first, last, email = entity["first"], entity["last"], entity["email"]
        row["title"] = entity["title"]
        if variant:
            change = rnd.random()
            if change < 0.25:
                first = _nickname(rnd, first)
            elif change < 0.4:
                first = _typo(rnd, first)
            elif change < 0.55:
                last = _typo(rnd, last)
            case = rnd.random()
            if case < 0.3:
                email = email.upper()
            elif case < 0.5:
                email = email.title()
            if rnd.random() < 0.25:
                # A personal address instead of the work one, in a Gmail spelling.
                local, _ = entity["personal"].split("@")
                email = rnd.choice([f"{local}+crm@gmail.com", f"{local.replace('.', '')}@googlemail.com",
                                    f"{local}@gmail.com".upper()])
            missing = rnd.random()
            if "@gmail" in email.lower() or "@googlemail" in email.lower():
                missing = max(missing, 0.25)  # name plus nothing at all would be a guess, not a duplicate
            if missing < 0.15:
                row["phone"] = ""
            elif missing < 0.25:
                row["company"] = ""
            elif missing < 0.3:
                row["title"] = ""
        if rnd.random() < 0.3:
            first, last = rnd.choice([(first.upper(), last.upper()), (first.lower(), last.lower())])
        if rnd.random() < 0.1:
            row["full_name"] = f"{first} {last}"
        else:
            row["first_name"], row["last_name"] = first, last
        row["email"] = email
        return row

    def rows(self, n: int):
        for _ in range(n):
            if self.entities and self.rnd.random() < self.dup_rate:
                yield self._render(self.rnd.choice(self.entities), variant=True)
            else:
                yield self._render(self._new_entity(), variant=False)
