"""Presets that map real CRM exports (Salesforce, HubSpot, Dynamics 365, generic) to the canonical schema.

A preset lists, per canonical column, the headers the CRM uses for it (API names and report labels,
matched case- and punctuation-insensitively). ``auto`` picks the preset whose signature headers the
file carries most. Headers no preset knows get fuzzy suggestions (rapidfuzz) that the user confirms or
corrects; a YAML mapping file can override any column, map values (codes → labels), sum several source
columns into one (``revenue_12m: [Fresh, Milk]``) and set constants (``country: PT``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import ImportFileError

__all__ = ["Preset", "PRESETS", "ColumnMapping", "detect_preset", "suggest_mapping", "build_mapping",
           "load_mapping", "parse_mapping", "mapping_yaml", "normalise_header", "DYNAMICS_INDUSTRY_CODES", "MANAGER_SYNONYMS",
           "MAPPING_TARGETS"]


def normalise_header(h: str) -> str:
    """Lower case, letters and digits only: ``"Billing Zip/Postal Code"`` → ``"billingzippostalcode"``."""
    return re.sub(r"[^0-9a-z]+", "", str(h).lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
                  .replace("ß", "ss"))


# Dynamics 365 account.industrycode option set (default values 1–33) → label.
DYNAMICS_INDUSTRY_CODES: dict[str, str] = {
    "1": "Accounting", "2": "Agriculture and Non-petrol Natural Resource Extraction",
    "3": "Broadcasting Printing and Publishing", "4": "Brokers", "5": "Building Supply Retail",
    "6": "Business Services", "7": "Consulting", "8": "Consumer Services",
    "9": "Design, Direction and Creative Management", "10": "Distributors, Dispatchers and Processors",
    "11": "Doctor's Offices and Clinics", "12": "Durable Manufacturing", "13": "Eating and Drinking Places",
    "14": "Entertainment Retail", "15": "Equipment Rental and Leasing", "16": "Financial",
    "17": "Food and Tobacco Processing", "18": "Inbound Capital Intensive Processing",
    "19": "Inbound Repair and Services", "20": "Insurance", "21": "Legal Services",
    "22": "Non-Durable Merchandise Retail", "23": "Outbound Consumer Service",
    "24": "Petrochemical Extraction and Distribution", "25": "Service Retail", "26": "SIG Affiliations",
    "27": "Social Services", "28": "Special Outbound Trade Contractors", "29": "Specialty Realty",
    "30": "Transportation", "31": "Utility Creation and Distribution", "32": "Vehicle Retail", "33": "Wholesale",
}

#: Canonical account columns a mapping may target, plus ``parent_name`` (resolved to ``parent_id`` by name).
MAPPING_TARGETS = ("account_id", "name", "parent_id", "parent_name", "country", "region", "city", "postcode",
                   "industry", "employees", "revenue_12m", "annual_revenue", "potential", "service_need", "owner_id",
                   "owner_name", "source_id")
NUMERIC_TARGETS = {"employees", "revenue_12m", "annual_revenue", "potential", "service_need", "capacity_hours", "cost"}
#: The customer company's own annual revenue (a size signal, kept as an extra column), not revenue with us.
#: Salesforce ``Account.AnnualRevenue``, HubSpot ``annualrevenue`` and Dynamics ``account.revenue`` all mean this,
#: so the CRM presets map their "Annual Revenue" here and never to ``revenue_12m``.
COMPANY_REVENUE = "annual_revenue"


@dataclass(frozen=True)
class Preset:
    """Header synonyms per canonical column for one CRM, and the headers that identify its exports."""

    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    signature: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)


#: Headers of a column that holds the CRM's own record id beside the book's id (accounts and managers alike).
_SOURCE_ID_SYNONYMS = ("source_id", "crm id", "crm record id", "salesforce id", "sfdc id", "external id",
                       "crm nummer")

_GENERIC = {
    "account_id": ("account_id", "accountid", "account id", "id", "customer id", "customer number",
                   "account number", "accountnumber", "kundennummer", "kunden-nr", "kundennr", "debitor",
                   "debitorennummer", "record id"),
    "name": ("name", "account", "account name", "company", "company name", "customer", "customer name", "firma",
             "firmenname", "kunde", "kundenname", "organisation", "organization"),
    "parent_id": ("parent_id", "parent id", "parentid", "parent account id"),
    "parent_name": ("parent", "parent name", "parent company", "parent account", "subsidiary_of", "subsidiary of",
                    "muttergesellschaft", "konzern", "mutter"),
    "country": ("country", "land", "country/region", "country code", "office_location", "nation", "staat"),
    "region": ("region", "state", "bundesland", "territory", "state/region", "province", "kanton", "gebiet"),
    "city": ("city", "ort", "stadt", "town"),
    "postcode": ("postcode", "zip", "zip code", "postal code", "postalcode", "plz", "postleitzahl"),
    "industry": ("industry", "sector", "branche", "industrie", "wirtschaftszweig"),
    "employees": ("employees", "number of employees", "mitarbeiter", "anzahl mitarbeiter", "headcount", "staff",
                  "mitarbeiteranzahl"),
    "revenue_12m": ("revenue_12m", "revenue 12m", "revenue", "umsatz", "umsatz 12m", "umsatz 12 monate",
                    "annual revenue", "sales", "turnover", "jahresumsatz", "revenue ltm"),
    "annual_revenue": ("annual_revenue", "company revenue", "company annual revenue", "firmenumsatz"),
    "potential": ("potential", "potenzial", "potenzial eur", "potential revenue", "wallet"),
    "service_need": ("service_need", "service need", "service hours", "servicebedarf", "betreuungsaufwand"),
    "owner_id": ("owner_id", "owner id", "ownerid", "account manager id", "betreuer id", "manager_id",
                 "manager id"),
    "owner_name": ("owner", "account owner", "account manager", "betreuer", "sales rep", "kam",
                   "vertriebsmitarbeiter", "verantwortlicher", "owner name"),
    # the record's id in the CRM, for the move files written back (a CRM preset's own id column is its account_id)
    "source_id": _SOURCE_ID_SYNONYMS,
}

PRESETS: dict[str, Preset] = {
    "salesforce": Preset(
        "salesforce", "Salesforce (Data Loader or report export)",
        {
            "account_id": ("id", "account id", "account_id", "accountid", "account id 18"),
            "name": ("name", "account name"),
            "parent_id": ("parentid", "parent account id", "parent id"),
            "parent_name": ("parent account", "parent account name"),
            "country": ("billingcountry", "billing country", "billingcountrycode", "shippingcountry",
                        "shipping country"),
            "region": ("billingstate", "billing state/province", "billing state", "billingstatecode"),
            "city": ("billingcity", "billing city"),
            "postcode": ("billingpostalcode", "billing zip/postal code", "billing postal code"),
            "industry": ("industry",),
            "employees": ("numberofemployees", "employees", "number of employees"),
            "annual_revenue": ("annualrevenue", "annual revenue"),
            "owner_id": ("ownerid", "owner id", "account owner id"),
            "owner_name": ("account owner", "owner name", "account owner name"),
        },
        signature=("isdeleted", "masterrecordid", "parentid", "billingpostalcode", "billingcountry", "ownerid",
                   "numberofemployees", "annualrevenue", "systemmodstamp", "createdbyid", "account owner",
                   "billing zip/postal code", "billing state/province", "billing country", "account name"),
    ),
    "hubspot": Preset(
        "hubspot", "HubSpot company export",
        {
            "account_id": ("record id", "company id", "hs_object_id"),
            "name": ("company name", "name"),
            "parent_name": ("parent company",),
            "country": ("country/region", "country"),
            "region": ("state/region", "state"),
            "city": ("city",),
            "postcode": ("postal code", "zip"),
            "industry": ("industry",),
            "employees": ("number of employees", "numberofemployees"),
            "annual_revenue": ("annual revenue", "annualrevenue"),
            "owner_id": ("company owner id", "hubspot_owner_id"),
            "owner_name": ("company owner", "hubspot owner"),
        },
        signature=("record id", "company name", "company owner", "country/region", "state/region",
                   "lifecycle stage", "create date", "parent company", "last activity date", "hubspot_owner_id"),
    ),
    "dynamics": Preset(
        "dynamics", "Dynamics 365 Export to Excel",
        {
            "account_id": ("(do not modify) account", "account id", "accountid"),
            "name": ("account name", "name"),
            "parent_name": ("parent account",),
            "country": ("address 1: country/region", "address 1: country", "address1_country"),
            "region": ("address 1: state/province", "address1_stateorprovince"),
            "city": ("address 1: city", "address1_city"),
            "postcode": ("address 1: zip/postal code", "address1_postalcode"),
            "industry": ("industry", "industrycode"),
            "employees": ("number of employees", "numberofemployees"),
            "annual_revenue": ("annual revenue", "revenue"),
            "owner_id": ("owner id", "ownerid"),
            "owner_name": ("owner",),
        },
        signature=("(do not modify) account", "(do not modify) row checksum", "(do not modify) modified on",
                   "address 1: country/region", "address 1: city", "address 1: zip/postal code"),
        values={"industry": DYNAMICS_INDUSTRY_CODES},
    ),
    "generic": Preset("generic", "Generic table (common English and German headers)", _GENERIC),
}

MANAGER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "manager_id": ("manager_id", "manager id", "id", "user id", "userid", "owner id", "ownerid", "employee id",
                   "personalnummer", "mitarbeiter id"),
    "name": ("name", "full name", "manager", "manager name", "sales_agent", "sales agent", "agent", "user",
             "owner", "mitarbeiter"),
    "role": ("role", "title", "job title", "rolle", "funktion", "position"),
    "region": ("region", "regional_office", "regional office", "office", "territory", "gebiet", "team"),
    "languages": ("languages", "language", "sprachen", "sprache"),
    "capacity_hours": ("capacity_hours", "capacity", "capacity hours", "hours", "kapazitaet", "stunden"),
    "cost": ("cost", "cost per year", "kosten", "salary", "annual cost"),
    "team_manager": ("team_manager", "team manager", "manager", "reports to", "supervisor", "vorgesetzter"),
    "source_id": _SOURCE_ID_SYNONYMS + ("crm user id", "salesforce user id"),
}


@dataclass
class ColumnMapping:
    """Which source header(s) feed each canonical column, value translations and constants.

    ``columns[canonical]`` is a source header or a list of headers (numbers are summed); ``values[canonical]``
    maps source values to canonical ones (e.g. Dynamics industry codes); ``constants[canonical]`` fills a column
    the file does not have. ``how[canonical]`` says why (``preset``, ``fuzzy 92``, ``mapping file``).
    """

    preset: str = "generic"
    columns: dict[str, str | list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)

    def sources(self) -> set[str]:
        out: set[str] = set()
        for v in self.columns.values():
            out.update([v] if isinstance(v, str) else v)
        return out

    def numeric_sources(self) -> set[str]:
        out: set[str] = set()
        for k, v in self.columns.items():
            if k in NUMERIC_TARGETS:
                out.update([v] if isinstance(v, str) else v)
        return out

    def to_dict(self) -> dict:
        return {"preset": self.preset, "columns": dict(self.columns), "values": dict(self.values),
                "constants": dict(self.constants), "how": dict(self.how)}


def detect_preset(headers: list[str]) -> tuple[str, int]:
    """The preset whose signature headers appear most (at least 2), else ``generic``; with its hit count."""
    # a header spelled exactly as a canonical column (``parent_id``, ``owner_id``) is our own format, no CRM's
    canonical = set(MAPPING_TARGETS)
    norm = {normalise_header(h) for h in headers if str(h).strip() not in canonical}
    best, hits = "generic", 0
    for p in PRESETS.values():
        n = sum(normalise_header(s) in norm for s in p.signature)
        if n > hits:
            best, hits = p.name, n
    return (best, hits) if hits >= 2 else ("generic", 0)


def suggest_mapping(headers: list[str], preset: str = "generic", targets: dict[str, tuple[str, ...]] | None = None,
                    cutoff: float = 85.0) -> pd.DataFrame:
    """Candidate source header per canonical column: exact synonym hits first, then fuzzy matches.

    Returns a frame ``target, source, score, how`` (score 100 for an exact synonym, the rapidfuzz ratio for a
    fuzzy one, ``source`` empty when nothing matched) so a user can confirm or correct each line.
    """
    from rapidfuzz import fuzz, process

    syn = targets if targets is not None else _preset(preset).columns
    if targets is None and preset != "generic":
        # a preset's own names win; generic synonyms fill what the preset does not name
        syn = {k: tuple(syn.get(k, ())) + tuple(_GENERIC.get(k, ())) for k in dict.fromkeys([*syn, *_GENERIC])}
    norm_headers = {normalise_header(h): h for h in reversed(headers)}
    used: set[str] = set()
    rows = []
    for target, names in syn.items():
        hit = next((norm_headers[normalise_header(n)] for n in names
                    if normalise_header(n) in norm_headers and norm_headers[normalise_header(n)] not in used), None)
        if hit is not None:
            used.add(hit)
            rows.append((target, hit, 100.0, "preset" if preset != "generic" else "synonym"))
            continue
        rows.append((target, "", 0.0, ""))
    # fuzzy pass for what is still open, over headers nobody claimed
    free = [h for h in headers if h not in used]
    for i, (target, src, _, _) in enumerate(rows):
        if src or not free:
            continue
        choices = {h: normalise_header(h) for h in free}
        best = process.extractOne(normalise_header(target), choices, scorer=fuzz.ratio)
        alt = [process.extractOne(normalise_header(n), choices, scorer=fuzz.ratio) for n in syn[target]]
        cands = [c for c in [best, *alt] if c is not None]
        if not cands:
            continue
        top = max(cands, key=lambda c: c[1])
        if top[1] >= cutoff:
            rows[i] = (target, top[2], round(float(top[1]), 1), "fuzzy")
            free.remove(top[2])
    return pd.DataFrame(rows, columns=["target", "source", "score", "how"])


def _preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ImportFileError(f"Unknown preset {name!r}; choose one of auto, {', '.join(PRESETS)}.") from None


def build_mapping(headers: list[str], preset: str = "auto", override: dict | ColumnMapping | None = None,
                  fuzzy_cutoff: float = 88.0) -> ColumnMapping:
    """The mapping for a file: the preset (``auto`` detects it), fuzzy guesses, then the user's overrides.

    ``override`` is a dict as in a YAML mapping file (``columns``, ``values``, ``constants``, optional
    ``preset``) or a :class:`ColumnMapping`; a column mapped to ``null`` or ``""`` is left unmapped.
    """
    if isinstance(override, ColumnMapping):
        override = override.to_dict()
    override = dict(override or {})
    preset = override.get("preset") or preset
    if preset == "auto":
        preset, _ = detect_preset(headers)
    p = _preset(preset)
    sugg = suggest_mapping(headers, preset, cutoff=fuzzy_cutoff)
    m = ColumnMapping(preset=preset, values={k: dict(v) for k, v in p.values.items()})
    for r in sugg.itertuples(index=False):
        if r.source:
            m.columns[r.target] = r.source
            m.how[r.target] = r.how if r.how != "fuzzy" else f"fuzzy {r.score:g}"
    present = set(headers)
    for target, src in (override.get("columns") or {}).items():
        if target not in MAPPING_TARGETS:
            raise ImportFileError(f"Mapping names an unknown column {target!r}; "
                                  f"known: {', '.join(MAPPING_TARGETS)}.")
        if src in (None, "", []):
            m.columns.pop(target, None)
            m.how.pop(target, None)
            continue
        srcs = [src] if isinstance(src, str) else [str(s) for s in src]
        missing = [s for s in srcs if s not in present]
        if missing:
            raise ImportFileError(f"Mapping for {target} names column(s) {', '.join(map(repr, missing))} "
                                  "that the file does not have.")
        # a source claimed by the override is no longer available to a preset guess
        for k, v in list(m.columns.items()):
            if k != target and (v in srcs if isinstance(v, str) else set(v) & set(srcs)):
                m.columns.pop(k)
                m.how.pop(k, None)
        m.columns[target] = srcs[0] if len(srcs) == 1 else srcs
        m.how[target] = "mapping file"
    for target, vals in (override.get("values") or {}).items():
        m.values[target] = {str(k): str(v) for k, v in (vals or {}).items()}
    for target, val in (override.get("constants") or {}).items():
        m.constants[target] = val
        m.how[target] = "constant"
    if "owner_id" in m.columns and "owner_name" in m.columns and m.columns["owner_id"] == m.columns["owner_name"]:
        m.columns.pop("owner_name")
    return m


def load_mapping(path: str | Path) -> dict:
    """Read a YAML mapping file (``preset``, ``columns``, ``values``, ``constants``) into a dict.

    Raises
    ------
    ImportFileError : the file is missing or is not a YAML mapping of that shape.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"Mapping file {path} does not exist.") from None
    return parse_mapping(raw, path.name)


def parse_mapping(raw: bytes | str, name: str = "mapping.yaml") -> dict:
    """A mapping file's content (an upload, say) as a dict; ``name`` is the file named in messages.

    Raises
    ------
    ImportFileError : the text is not YAML, or not a mapping with the keys ``preset``, ``columns``, ``values``
        and/or ``constants`` (each of the last three itself a mapping).
    """
    import yaml

    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        data = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ImportFileError(f"Mapping file {name} is not valid YAML{at} ({type(exc).__name__}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not set(data) <= {"preset", "columns", "values", "constants"}:
        raise ImportFileError(f"Mapping file {name} must be a mapping with the keys preset, columns, "
                              "values and/or constants.")
    for key in ("columns", "values", "constants"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ImportFileError(f"Mapping file {name}: {key} must be a mapping.")
    return data


def mapping_yaml(mapping: dict) -> str:
    """A mapping dict (as ``parse_mapping`` returns or ``build_mapping`` takes) as the text of a mapping file,
    keys in the file's usual order, so a confirmed mapping can be saved and used again (app, CLI, Python)."""
    import yaml

    data = {k: mapping[k] for k in ("preset", "columns", "values", "constants") if mapping.get(k) not in (None, {})}
    head = "# Restructure Workbench mapping file: canonical column: source header (a list is summed; null unmaps)\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
