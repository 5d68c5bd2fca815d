"""Sample leads for the demo tenant."""
from leads.services.ingest import Outcome, ingest_leads

SAMPLE_ROWS = [
    {"email": "Jane.Doe@Acme.com", "first_name": "jane", "last_name": "doe", "company": "Acme Inc.", "title": "VP of Sales", "phone": "(415) 555-0101"},
    {"email": "bob.smith@globex.io", "full_name": "Bob Smith", "company": "Globex LLC", "title": "Head of Marketing"},
    {"email": "maria.garcia+news@gmail.com", "first_name": "Maria", "last_name": "Garcia", "phone": "+34 612 345 678", "country": "Spain"},
    {"email": "info@initech.com", "company": "Initech", "website": "https://www.initech.com/about"},
    {"email": "o.brien@umbrella.co.uk", "full_name": "SEAN O'BRIEN", "company": "Umbrella Ltd", "title": "CTO", "country": "UK"},
    {"email": "wei.zhang@hooli.com", "first_name": "Wei", "last_name": "Zhang", "company": "Hooli", "title": "Software Engineer"},
    {"email": "anna.van.der.berg@stark.nl", "full_name": "anna van der berg", "company": "Stark Industries B.V.", "title": "Director of Operations"},
    {"email": "jane.doe@acme.com", "first_name": "Jane", "last_name": "Doe", "company": "ACME", "title": "VP Sales"},
    {"linkedin_url": "https://www.linkedin.com/in/carlos-ruiz/", "full_name": "Carlos Ruiz", "company": "Wayne Enterprises"},
    {"email": "sales@mailinator.com", "company": "Throwaway Co"},
]


def create_sample_leads() -> int:
    """Ingest the sample rows (source ``demo``) the same way the API does, then run the
    pipeline on them so the review queue has something to show; returns how many were stored."""
    from processing.pipeline import process_leads

    results = ingest_leads(rows=SAMPLE_ROWS, source="demo", actor="system:bootstrap_demo")
    process_leads([r.id for r in results if r.id], actor="system:bootstrap_demo")
    return sum(1 for r in results if r.outcome != Outcome.INVALID)
