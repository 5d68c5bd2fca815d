"""Job titles to seniority and department, by keyword rules checked in order."""
import re
from functools import lru_cache

from .text import fold

SENIORITIES = ("c_level", "vp", "director", "manager", "individual")
DEPARTMENTS = ("sales", "marketing", "engineering", "it", "finance", "hr", "operations", "product",
               "support", "legal", "executive", "other")

# First matching rule wins; phrases are matched on whole words of the folded title.
_SENIORITY_RULES = (
    # Assistants to an executive are not the executive; neither are owners of a product
    # or leads of a lead-generation desk.
    ("individual", ("assistant to", "executive assistant", "personal assistant", "ea to", "pa to",
                    "office of the", "product owner", "process owner", "lead generation")),
    ("director", ("chief of staff",)),
    # Chief titles before VP ("EVP & CFO" is the CFO); "president" only after VP, since
    # every vice president's title contains it.
    ("c_level", ("chief", "ceo", "cto", "cfo", "coo", "cmo", "cio", "ciso", "cro", "cpo", "cdo",
                 "cso", "chro", "cco", "clo")),
    ("vp", ("vice president", "vicepresident", "vp", "svp", "evp", "avp", "vice pres",
            "vizeprasident", "vicepresidente")),
    ("c_level", ("founder", "cofounder", "co founder", "owner", "president", "chairman", "chairwoman",
                 "chairperson", "chair", "managing director", "managing partner", "general partner",
                 "senior partner", "founding partner", "board member", "geschaftsfuhrer",
                 "geschaftsfuhrerin", "inhaber", "pdg", "directeur general", "director general",
                 "director ejecutivo", "amministratore delegato")),
    ("director", ("director", "dir", "head", "directeur", "directrice", "direktor", "direktorin",
                  "directora", "leiter", "leiterin", "bereichsleiter", "general manager", "gm")),
    ("manager", ("manager", "mgr", "lead", "team lead", "supervisor", "superintendent", "foreman",
                 "gerente", "responsable", "teamleiter", "abteilungsleiter", "coordinator lead")),
)
# Functions first, "executive" last: "Vice President of Sales" is sales, a bare
# "President" is executive. Marketing before product (product marketing is marketing),
# IT before support and engineering (IT support, infrastructure engineer).
_DEPARTMENT_RULES = (
    ("finance", ("cfo", "chief financial", "finance", "financial", "accounting", "accountant",
                 "controller", "comptroller", "treasurer", "treasury", "audit", "auditor", "tax",
                 "payroll", "fp a", "bookkeeper", "billing", "investor relations", "finanz",
                 "buchhaltung")),
    ("legal", ("clo", "chief legal", "legal", "counsel", "attorney", "lawyer", "solicitor",
               "barrister", "paralegal", "compliance", "privacy", "juriste", "rechtsanwalt")),
    ("hr", ("chro", "chief people", "chief human", "hr", "human resources", "people", "talent",
            "recruiter", "recruiting", "recruitment", "personnel", "rh", "ressources humaines",
            "recursos humanos", "personalabteilung", "hrbp",
            "learning and development", "l d")),
    ("sales", ("cro", "chief revenue", "chief commercial", "sales", "account executive",
               "account manager", "account director", "business development", "bdr", "sdr",
               "revenue", "commercial", "partnerships", "channel", "key account", "inside sales",
               "vertrieb", "verkauf", "ventes", "ventas", "vendite")),
    ("marketing", ("cmo", "chief marketing", "marketing", "growth", "brand", "content", "seo", "sem",
                   "communications", "comms", "pr", "public relations", "demand generation",
                   "demand gen", "lead generation", "social media", "digital", "campaign", "events", "copywriter",
                   "mercadotecnia", "marketingleiter")),
    ("it", ("cio", "ciso", "chief information", "it", "information technology", "sysadmin",
            "system administrator", "systems administrator", "network", "infrastructure",
            "helpdesk", "help desk", "security", "cybersecurity", "dba", "database administrator")),
    ("support", ("support", "customer success", "customer service", "customer care",
                 "client services", "customer experience", "cx", "service desk")),
    ("product", ("cpo", "chief product", "product", "ux", "ui", "user experience", "designer",
                 "design", "product owner")),
    ("engineering", ("cto", "chief technology", "engineer", "engineering", "developer", "software",
                     "devops", "sre", "site reliability", "programmer", "architect", "qa",
                     "quality assurance", "r d", "research and development", "data scientist",
                     "machine learning", "ml", "frontend", "front end", "backend", "back end",
                     "full stack", "fullstack", "firmware", "entwickler", "ingenieur", "ingenieur",
                     "desarrollador", "tech lead")),
    ("operations", ("coo", "chief operating", "operations", "ops", "supply chain", "logistics",
                    "procurement", "purchasing", "facilities", "manufacturing", "production",
                    "plant", "warehouse", "fulfillment", "office manager", "administration", "administrative",
                    "betrieb")),
    ("executive", ("ceo", "chief executive", "founder", "cofounder", "co founder", "owner",
                   "president", "chairman", "chairwoman", "chairperson", "managing director",
                   "general manager", "managing partner", "board member", "geschaftsfuhrer",
                   "pdg", "directeur general", "chief of staff", "executive assistant")),
)


def _compile(rules):
    return tuple(
        (name, re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")\b"))
        for name, phrases in rules
    )


_SENIORITY = _compile(_SENIORITY_RULES)
_DEPARTMENT = _compile(_DEPARTMENT_RULES)
_PUNCT = re.compile(r"[^\w]+")
_NO_TITLE = frozenset({"n a", "na", "none", "null", "unknown", "tbd", "not provided", "other", "x"})


def _words(title: str) -> str:
    # "Sr. V.P., Sales & Marketing" -> "sr v p sales and marketing"; V.P. glued back to vp.
    text = fold(title).replace("&", " and ").replace("v.p.", "vp").replace("c.e.o.", "ceo")
    return _PUNCT.sub(" ", text).replace("_", " ").strip()


@lru_cache(maxsize=16384)
def classify_title(title: str) -> tuple[str, str]:
    """(seniority, department) of a job title; ("", "") when there is no title.

    Seniority is c_level, vp, director, manager or individual (any other title);
    department is the first matching of sales, marketing, engineering … else "other".
    "VP of Sales" -> ("vp", "sales"), "Senior Software Engineer" -> ("individual",
    "engineering"), "Geschäftsführer" -> ("c_level", "executive").
    """
    words = _words(title)
    if not words or words in _NO_TITLE:
        return "", ""
    seniority = next((name for name, rx in _SENIORITY if rx.search(words)), "individual")
    department = next((name for name, rx in _DEPARTMENT if rx.search(words)), "other")
    return seniority, department
