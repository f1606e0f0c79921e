"""Harmonise an account book: normalise names, countries and industries, find and merge duplicate accounts,
and resolve account families from parent ids or parent names.

Everything works on whole columns: value lookups run once per distinct value (a book has few distinct
countries or industries), duplicate search compares only candidate pairs from several blocking keys
(sorted neighbourhoods and shared postcodes) with rapidfuzz — never all pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "normalise_names", "normalise_countries", "normalise_postcodes", "POSTCODE_FORMATS", "normalise_industries",
    "CANONICAL_INDUSTRIES",
    "DuplicateFinder", "find_duplicates", "merge_duplicates", "MergeResult", "merge_book", "resolve_parent_names",
    "account_families",
]

# ------------------------------------------------------------------------------------------ names

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa",
                           "Ä": "ae", "Ö": "oe", "Ü": "ue"})
# Legal-form words (as tokens after punctuation became spaces): they say nothing about who the company is.
_LEGAL_FORMS = (
    "gmbh", "ggmbh", "mbh", "ag", "aktiengesellschaft", "kg", "ek", "ekfr", "kgaa", "se", "ug", "ohg", "gbr", "ev", "eg",
    "haftungsbeschraenkt", "co", "cokg", "gesellschaft mit beschraenkter haftung", "kommanditgesellschaft",
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "company", "plc", "lp", "llp", "pty",
    "sa", "sarl", "sas", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps", "kft", "sro", "spzoo", "zoo", "sp",
    "holding", "group", "gruppe", "the", "und", "and",
)


_LEGAL_SET = frozenset(f for f in _LEGAL_FORMS if " " not in f)
_LEGAL_PHRASES = re.compile(r"\b(?:gesellschaft mit beschraenkter haftung|kommanditgesellschaft auf aktien)\b")


def _drop_legal(name: str) -> str:
    return " ".join([t for t in name.split() if t not in _LEGAL_SET])


def normalise_names(names: pd.Series) -> pd.Series:
    """Company names reduced for matching: lower case, ä→ae/ß→ss, accents and punctuation removed,
    legal forms (GmbH, AG, Inc., Ltd, S.A., ...) and filler words dropped, spaces collapsed.

    ``"Müller & Söhne GmbH & Co. KG"`` → ``"mueller soehne"``. Missing names become ``""``. The work is done
    once per distinct name.
    """
    codes, uniq = pd.factorize(names.astype("string").fillna(""))
    s = pd.Series(uniq, dtype="string").str.lower()
    s = s.str.translate(_TRANSLIT)
    s = s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    s = s.str.replace(r"(?<=\b[a-z])\.(?=[a-z]\b\.?)", "", regex=True)  # s.a. → sa, e.v. → ev
    s = s.str.replace(r"[^a-z0-9]+", " ", regex=True)
    s = s.str.replace(_LEGAL_PHRASES, " ", regex=True)
    out = s.astype(object).map(_drop_legal).to_numpy(dtype=object)
    return pd.Series(out[codes] if len(uniq) else np.array([], dtype=object), index=names.index, dtype=object)


_LEGAL_TAIL = re.compile(r"(?:gmbh|mbh|aktiengesellschaft|kommanditgesellschaft|ag|kgaa|kg|cokg|ek|se|ug|ohg|gbr|inc|llc|ltd|corp|plc|sarl|srl|spa|bv|nv)+$")


def compact_names(names: pd.Series) -> pd.Series:
    """Normalised names without spaces and without a legal form glued to the end: typos that move a space
    (``"Baustoff eGmbH"``, ``"Seide l& Vogel"``) give the same compact key as the correct name."""
    codes, uniq = pd.factorize(names.astype("string").fillna(""))
    s = pd.Series(uniq, dtype="string").str.lower().str.translate(_TRANSLIT)
    s = s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    s = s.str.replace(r"[^a-z0-9]+", "", regex=True).str.replace(_LEGAL_TAIL, "", regex=True)
    out = s.astype(object).to_numpy(dtype=object)
    return pd.Series(out[codes] if len(uniq) else np.array([], dtype=object), index=names.index, dtype=object)


_LEGAL_KIND = {"gmbh": "gmbh", "mbh": "gmbh", "ggmbh": "gmbh", "ag": "ag", "aktiengesellschaft": "ag",
               "kg": "kg", "kommanditgesellschaft": "kg", "ek": "ek", "kgaa": "kgaa", "se": "se", "ug": "ug", "ohg": "ohg", "gbr": "gbr", "ev": "ev",
               "inc": "inc", "llc": "llc", "ltd": "ltd", "limited": "ltd", "plc": "plc", "sa": "sa", "sarl": "sarl",
               "srl": "srl", "spa": "spa", "bv": "bv", "nv": "nv"}


def legal_form(names: pd.Series) -> pd.Series:
    """The legal form a name ends in (``gmbh``, ``ag``, ``kg`` for "GmbH & Co. KG", ...) or ``""`` if none."""
    codes, uniq = pd.factorize(names.astype("string").fillna(""))
    s = pd.Series(uniq, dtype="string").str.lower().str.replace(r"(?<=\b[a-z])\.(?=[a-z]\b\.?)", "", regex=True)
    s = s.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    last = s.str.extract(r"(\w+)$", expand=False).map(_LEGAL_KIND).fillna("")
    out = last.astype(object).to_numpy(dtype=object)
    return pd.Series(out[codes] if len(uniq) else np.array([], dtype=object), index=names.index, dtype=object)


def _key(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", s.lower().translate(_TRANSLIT))


def _name_keys(names: pd.Series) -> dict[str, np.ndarray]:
    """All matching keys of every name, computed once per distinct name and spread back by code."""
    codes, uniq = pd.factorize(names.astype("string").fillna(""))
    base = pd.Series(uniq, dtype=object).str.lower().str.translate(_TRANSLIT)
    base = base.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    has_dot = base.str.contains(".", regex=False)
    dotted = base.copy()
    dotted[has_dot] = base[has_dot].str.replace(r"(?<=\b[a-z])\.(?=[a-z]\b\.?)", "", regex=True)
    # the plain regular expressions run in Arrow's RE2 kernels on Arrow strings (no Python call per name)
    spaced = dotted.astype("string[pyarrow]").str.replace(r"[^a-z0-9]+", " ", regex=True)
    nn = spaced.str.replace(_LEGAL_PHRASES.pattern, " ", regex=True).astype(object).map(_drop_legal)
    cmp = spaced.str.replace(" ", "", regex=False).str.replace(_LEGAL_TAIL.pattern, "", regex=True).astype(object)
    legal = (spaced.str.strip().str.extract(r"(\w+)$", expand=False).astype(object).map(_LEGAL_KIND)
             .fillna(""))
    keys = {"nn": nn, "tok": nn.str.split(" ").map(sorted).str.join(" "), "rev": nn.str[::-1],
            "skel": _skeleton(nn), "cmp": cmp, "legal": legal}
    out = {k: v.to_numpy(dtype=object)[codes] for k, v in keys.items()}
    out["len_nn"] = nn.str.len().to_numpy(dtype=np.int64)[codes]
    out["len_cmp"] = cmp.str.len().to_numpy(dtype=np.int64)[codes]
    return out


# ------------------------------------------------------------------------------------------ countries

_COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "unitedstatesofamerica": "US", "america": "US", "vereinigtestaaten": "US",
    "uk": "GB", "greatbritain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northernireland": "GB",
    "grossbritannien": "GB", "britain": "GB", "holland": "NL", "korea": "KR", "southkorea": "KR",
    "northkorea": "KP", "russia": "RU", "czechrepublic": "CZ", "czechia": "CZ", "tschechien": "CZ",
    "ivorycoast": "CI", "uae": "AE", "vietnam": "VN", "laos": "LA", "burma": "MM", "persia": "IR",
    "brd": "DE", "bundesrepublikdeutschland": "DE", "oesterreich": "AT", "schweiz": "CH", "suisse": "CH",
    "svizzera": "CH", "macedonia": "MK", "swaziland": "SZ", "capeverde": "CV", "turkey": "TR", "tuerkei": "TR",
    "hongkong": "HK", "taiwan": "TW", "palestine": "PS", "vatican": "VA", "bolivia": "BO", "venezuela": "VE",
    "iran": "IR", "syria": "SY", "tanzania": "TZ", "moldova": "MD", "micronesia": "FM", "brunei": "BN",
}
_ALPHA3 = {
    "deu": "DE", "aut": "AT", "che": "CH", "gbr": "GB", "fra": "FR", "ita": "IT", "esp": "ES", "nld": "NL",
    "bel": "BE", "lux": "LU", "pol": "PL", "cze": "CZ", "dnk": "DK", "swe": "SE", "nor": "NO", "fin": "FI",
    "prt": "PT", "irl": "IE", "can": "CA", "mex": "MX", "bra": "BR", "arg": "AR", "jpn": "JP", "chn": "CN",
    "kor": "KR", "ind": "IN", "aus": "AU", "nzl": "NZ", "zaf": "ZA", "tur": "TR", "rus": "RU", "hun": "HU",
    "rou": "RO", "grc": "GR", "phl": "PH", "sgp": "SG", "are": "AE", "isr": "IL", "ken": "KE", "jor": "JO",
    "pan": "PA", "svk": "SK", "svn": "SI", "hrv": "HR", "bgr": "BG", "ukr": "UA", "est": "EE", "lva": "LV",
    "ltu": "LT",
}
_COUNTRY_TABLE: dict[str, str] | None = None


def _country_table() -> dict[str, str]:
    """Country names in several languages (from Babel's CLDR data, shipped offline) → ISO alpha-2."""
    global _COUNTRY_TABLE
    if _COUNTRY_TABLE is None:
        table: dict[str, str] = {}
        try:
            from babel import Locale

            for loc in ("en", "de", "fr", "es", "it"):
                for code, name in Locale(loc).territories.items():
                    if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO"):
                        table.setdefault(_key(name), code)
                        table.setdefault(code.lower(), code)
        except ImportError:  # pragma: no cover - Babel comes with JupyterLab; aliases still work without it
            pass
        table.update(_ALPHA3)
        table.update(_COUNTRY_ALIASES)
        _COUNTRY_TABLE = table
    return _COUNTRY_TABLE


def normalise_countries(values: pd.Series, fuzzy_cutoff: float = 88.0) -> tuple[pd.Series, dict[str, str]]:
    """Country names or codes to ISO-3166 alpha-2, tolerant of language and typos.

    ``"United States"``, ``"USA"``, ``"US"``, ``"Deutschland"``, ``"Germany"``, ``"Philipines"`` →
    ``US, US, US, DE, DE, PH``. Values that match nothing are kept as they came.

    Returns
    -------
    (normalised series, {original value: code} for every distinct value that changed)
    """
    from rapidfuzz import fuzz, process

    table = _country_table()
    txt = values.astype("string").str.strip()
    uniq = pd.unique(txt.dropna())
    mapping: dict[str, str] = {}
    keys = list(table)
    for u in uniq:  # once per distinct country, not per account
        k = _key(u)
        code = table.get(k)
        if code is None and len(k) > 3:
            hit = process.extractOne(k, keys, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff)
            code = table[hit[0]] if hit else None
        if code is not None:
            mapping[u] = code
    out = _apply_lookup(txt, mapping)
    return out, {k: v for k, v in mapping.items() if k != v}


#: Postcode formats of the countries a DACH/European book meets most (regular expressions on the whole value).
POSTCODE_FORMATS: dict[str, tuple[str, str]] = {
    "DE": (r"\d{5}", "5 digits"), "AT": (r"\d{4}", "4 digits"), "CH": (r"\d{4}", "4 digits"),
    "LI": (r"\d{4}", "4 digits"), "LU": (r"\d{4}", "4 digits"), "BE": (r"\d{4}", "4 digits"),
    "DK": (r"\d{4}", "4 digits"), "FR": (r"\d{5}", "5 digits"), "IT": (r"\d{5}", "5 digits"),
    "ES": (r"\d{5}", "5 digits"), "NL": (r"\d{4} ?[A-Z]{2}", "4 digits and 2 letters"),
    "PL": (r"\d{2}-\d{3}", "NN-NNN"), "PT": (r"\d{4}-\d{3}", "NNNN-NNN"), "SE": (r"\d{3} ?\d{2}", "5 digits"),
    "US": (r"\d{5}(?:-\d{4})?", "5 digits or ZIP+4"),
}
# all-digit postcodes that may start with 0: a spreadsheet that took them for numbers dropped that zero
_LEADING_ZERO = ("DE", "FR", "IT", "ES", "US")


def normalise_postcodes(postcodes: pd.Series, countries: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Postcodes checked against their country's format (``POSTCODE_FORMATS``; other countries are not checked).

    A numeric postcode one digit short in a country whose codes may start with 0 (DE 01067 Dresden, US 02108
    Boston) lost that zero in a spreadsheet and gets it back; ``1067.0`` (a number read as float) becomes ``1067``
    first. Nothing else is changed.

    Returns
    -------
    (postcodes, restored: bool per row, a leading zero was put back; off: bool per row, the value still does not
    fit its country's format)
    """
    # Arrow-backed strings throughout: Python-object strings made this 5.5 s at 1M accounts, these 0.5 s
    pc = postcodes.astype("string[pyarrow]").str.strip()
    pc = pc.mask(pc == "")
    floaty = pc.str.endswith(".0").fillna(False).to_numpy()
    if floaty.any():
        pc[floaty] = pc[floaty].str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    codes, uniq = pd.factorize(countries.astype("string[pyarrow]").str.strip().str.upper().to_numpy())
    has = pc.notna().to_numpy()
    restored = np.zeros(len(pc), dtype=bool)
    off = np.zeros(len(pc), dtype=bool)
    for i, code in enumerate(uniq):  # once per country in the book
        if code not in POSTCODE_FORMATS:
            continue
        rows = np.flatnonzero((codes == i) & has)
        vals = pc.iloc[rows]
        if code in _LEADING_ZERO:
            short = vals.str.fullmatch(r"\d{4}").fillna(False).to_numpy()
            if short.any():
                pc.iloc[rows[short]] = "0" + vals[short]
                restored[rows[short]] = True
                vals = pc.iloc[rows]
        off[rows] = ~vals.str.fullmatch(POSTCODE_FORMATS[code][0]).fillna(False).to_numpy()
    return pc, restored, off


def _apply_lookup(txt: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """``txt`` with each value replaced by ``mapping[value]`` where present (via codes: fast on 1M rows)."""
    codes, uniq = pd.factorize(txt)
    new = np.array([mapping.get(u, u) for u in uniq], dtype=object)  # once per distinct value
    out = pd.Series(np.where(codes >= 0, new[np.maximum(codes, 0)] if len(new) else None, None), index=txt.index)
    return out.astype("string")


# ------------------------------------------------------------------------------------------ industries

#: Canonical industry labels (Salesforce's standard picklist plus common extras), with synonyms that map to them.
CANONICAL_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "Agriculture": ("farming", "landwirtschaft", "agrar"),
    "Apparel": ("fashion", "textile", "textiles", "bekleidung", "mode"),
    "Automotive": ("automobil", "automobile", "auto", "fahrzeugbau", "kfz"),
    "Banking": ("bank", "banks", "banken", "bankwesen"),
    "Biotechnology": ("biotech", "biotechnologie"),
    "Chemicals": ("chemical", "chemie", "chemistry"),
    "Communications": ("kommunikation",),
    "Construction": ("bau", "bauwesen", "building", "baugewerbe"),
    "Consulting": ("beratung", "consultancy", "unternehmensberatung"),
    "Education": ("bildung", "schools", "university"),
    "Electronics": ("elektronik", "elektrotechnik", "electrical"),
    "Employment": ("staffing", "recruiting", "personaldienstleistung", "zeitarbeit"),
    "Energy": ("energie", "oil and gas", "power"),
    "Engineering": ("ingenieurwesen", "ingenieur"),
    "Entertainment": ("unterhaltung", "leisure"),
    "Environmental": ("umwelt", "environment"),
    "Finance": ("financial", "finanzen", "financial services", "finanzdienstleistung", "fintech"),
    "Food & Beverage": ("food", "beverage", "food and beverage", "lebensmittel", "nahrungsmittel", "getraenke"),
    "Government": ("public sector", "oeffentliche verwaltung", "behoerde", "public administration"),
    "Healthcare": ("health", "health care", "gesundheit", "gesundheitswesen", "hospital", "krankenhaus"),
    "Hospitality": ("hotel", "hotels", "gastronomie", "horeca", "tourism", "tourismus"),
    "Insurance": ("versicherung", "versicherungen", "insurer"),
    "Legal": ("legal services", "recht", "kanzlei", "law"),
    "Logistics": ("logistik", "spedition", "freight"),
    "Machinery": ("maschinenbau", "mechanical engineering", "anlagenbau"),
    "Manufacturing": ("produktion", "herstellung", "industrie", "industrial"),
    "Marketing": ("advertising", "werbung", "agency"),
    "Media": ("medien", "publishing", "verlag", "broadcasting"),
    "Medical": ("medizin", "medizintechnik", "medtech", "medical devices"),
    "Not For Profit": ("non profit", "nonprofit", "ngo", "verein", "gemeinnuetzig"),
    "Pharmaceuticals": ("pharma", "pharmaceutical", "pharmazie"),
    "Real Estate": ("immobilien", "property", "realty"),
    "Recreation": ("sport", "sports", "freizeit"),
    "Retail": ("einzelhandel", "handel", "shop", "retailer"),
    "Services": ("service", "dienstleistung", "dienstleistungen", "business services"),
    "Shipping": ("schifffahrt", "maritime"),
    "Software": ("saas", "software development"),
    "Technology": ("tech", "it", "information technology", "hightech", "technologie", "informationstechnik"),
    "Telecommunications": ("telecom", "telco", "telekommunikation"),
    "Transportation": ("transport", "verkehr", "transportation and logistics"),
    "Utilities": ("utility", "versorger", "stadtwerke", "energieversorgung"),
    "Wholesale": ("grosshandel", "distribution", "distributor"),
    "Other": ("sonstige", "misc", "miscellaneous", "andere"),
}


def normalise_industries(values: pd.Series, fuzzy_cutoff: float = 85.0) -> tuple[pd.Series, dict[str, str]]:
    """Industry labels to :data:`CANONICAL_INDUSTRIES`, tolerant of case, German words and typos
    (``"technolgy"`` → ``Technology``). Values that match nothing keep their text.

    Returns
    -------
    (normalised series, {original value: canonical label} for every distinct value that changed)
    """
    from rapidfuzz import fuzz, process

    lookup: dict[str, str] = {}
    for label, syns in CANONICAL_INDUSTRIES.items():
        lookup[_key(label)] = label
        for s in syns:
            lookup[_key(s)] = label
    keys = list(lookup)
    txt = values.astype("string").str.strip()
    mapping: dict[str, str] = {}
    for u in pd.unique(txt.dropna()):  # once per distinct label
        k = _key(u)
        label = lookup.get(k)
        if label is None and len(k) >= 5:
            hit = process.extractOne(k, keys, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff)
            label = lookup[hit[0]] if hit else None
        if label is not None:
            mapping[u] = label
    out = _apply_lookup(txt, mapping)
    return out, {k: v for k, v in mapping.items() if k != v}


# ------------------------------------------------------------------------------------------ duplicates


_NO_VOWELS = str.maketrans("", "", "aeiouy ")


def _skeleton(nn: pd.Series) -> pd.Series:
    """Consonants only (vowels and spaces dropped): survives vowel typos, ae/a spellings and moved spaces."""
    return nn.str.translate(_NO_VOWELS)


@dataclass
class DuplicateFinder:
    """Find candidate duplicate accounts by fuzzy name similarity within blocks.

    Candidate pairs come from sorted neighbourhoods (each account against its ``window`` neighbours when
    sorted by several keys: normalised name, tokens sorted, name reversed, consonant skeleton) and from
    shared postcodes — never all pairs. Each pair gets a name score (the better of rapidfuzz ``ratio`` and
    ``token_sort_ratio`` on normalised names, 0–100) and evidence from postcode, city, country and legal form:
    the final score adds ``postcode_bonus`` for an equal postcode, subtracts it for another postcode in the
    same city or another legal form, and subtracts ``mismatch_penalty`` for a different city, country, or a
    different postcode in an unknown/other city (namesakes elsewhere are usually different companies or
    sites kept apart on purpose).

    Parameters
    ----------
    threshold : smallest final score (0–100) reported as a candidate.
    window : neighbours compared per account and sort key.
    postcode_bonus, mismatch_penalty : score points for address evidence.
    max_block : neighbours compared inside one postcode, sorted by consonant skeleton (a small postcode is
        compared all-against-all).
    """

    threshold: float = 92.0
    window: int = 4
    postcode_bonus: float = 4.0
    mismatch_penalty: float = 12.0
    max_block: int = 12
    candidates_: pd.DataFrame = field(default=None, init=False, repr=False)
    n_compared_: int = field(default=0, init=False)

    def fit(self, accounts: pd.DataFrame) -> DuplicateFinder:
        """Compute ``candidates_`` (see :func:`find_duplicates`) and ``n_compared_`` (pairs scored)."""
        from rapidfuzz import fuzz, process

        n = len(accounts)
        acc = accounts.reset_index(drop=True)
        k = _name_keys(acc["name"])
        nn_arr, tok_arr, cmp_arr = k["nn"], k["tok"], k["cmp"]
        # address and legal-form evidence as integer codes (-1 = unknown): comparisons stay in numpy
        evid = {}
        for col in ("postcode", "city", "country"):
            if col in acc.columns:
                v = acc[col].astype("string").str.strip().str.upper()
                evid[col] = pd.factorize(v.where(v != ""))[0]
        evid["legal form"] = pd.factorize(pd.Series(k["legal"]).replace("", None))[0]
        pc = evid.get("postcode", np.full(n, -1))
        keys = [pd.factorize(k[name], sort=True)[0] for name in ("nn", "tok", "rev", "skel", "cmp")]
        left, right = [], []
        for key in keys:
            # ties broken by postcode: equally named companies of one postcode end up side by side
            order = np.lexsort((pc, key))
            for d in range(1, min(self.window, n - 1) + 1):
                left.append(order[:-d])
                right.append(order[d:])
        idx = np.flatnonzero(pc >= 0)
        if len(idx):
            # inside a postcode: neighbours by consonant skeleton, which survives most typos
            order = idx[np.lexsort((keys[3][idx], pc[idx]))]
            c = pc[order]
            for d in range(1, self.max_block):
                same = c[:-d] == c[d:]
                if not same.any():
                    break
                left.append(order[:-d][same])
                right.append(order[d:][same])
        if not left or n < 2:
            self.candidates_, self.n_compared_ = _empty_candidates(), 0
            return self
        a = np.concatenate(left)
        b = np.concatenate(right)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        code = np.sort(lo.astype(np.int64) * n + hi)
        code = code[np.concatenate(([True], code[1:] != code[:-1]))]
        lo, hi = code // n, code % n
        # evidence first (cheap, integer): it bounds how high a pair can score before any string work
        adj = np.zeros(len(lo))
        flags = {}
        for col, codes in evid.items():
            ca, cb = codes[lo], codes[hi]
            known = (ca >= 0) & (cb >= 0)
            flags[col] = (known & (ca == cb), known & (ca != cb))
        for col, (eq, ne) in flags.items():
            if col == "postcode":
                # another postcode in the same city is often a second address of the same customer
                same_city = flags["city"][0] if "city" in flags else np.zeros(len(lo), bool)
                adj += np.where(eq, self.postcode_bonus, 0.0)
                adj -= np.where(ne & ~same_city, self.mismatch_penalty, np.where(ne, self.postcode_bonus, 0.0))
            elif col in ("city", "country"):
                adj -= np.where(ne, self.mismatch_penalty, 0.0)
            else:  # legal form: GmbH vs AG of one name are usually two companies of a group
                adj -= np.where(ne, self.postcode_bonus, 0.0)
        # a ratio can never exceed 200·min/sum of the lengths: hopeless pairs are not scored
        ceiling = np.zeros(len(lo))
        for length in (k["len_nn"], k["len_cmp"]):
            la, lb = length[lo], length[hi]
            ceiling = np.maximum(ceiling, 200.0 * np.minimum(la, lb) / np.maximum(la + lb, 1))
        ceiling += adj
        keep = (k["len_nn"][lo] > 0) & (k["len_nn"][hi] > 0) & (ceiling >= self.threshold)
        lo, hi, adj = lo[keep], hi[keep], adj[keep]
        flags = {k: (eq[keep], ne[keep]) for k, (eq, ne) in flags.items()}
        self.n_compared_ = len(lo)
        # name score = best of: ratio of normalised names, of sorted tokens (word order), of compact names
        # (moved spaces); later scorers only run where the earlier ones left the pair below the threshold
        name_score = process.cpdist(nn_arr[lo], nn_arr[hi], scorer=fuzz.ratio, workers=-1).astype(np.float64)
        for arr in (tok_arr, cmp_arr):
            todo = np.flatnonzero(name_score + adj < self.threshold)
            if len(todo):
                sc = process.cpdist(arr[lo[todo]], arr[hi[todo]], scorer=fuzz.ratio, workers=-1)
                name_score[todo] = np.maximum(name_score[todo], sc)
        score = np.clip(name_score + adj, 0, 100)
        ok = score >= self.threshold
        ids = acc["account_id"].astype("string").to_numpy(dtype=object)
        names = acc["name"].astype("string").to_numpy(dtype=object)
        ev = []
        for i in np.flatnonzero(ok):  # only the reported pairs, typically a few per thousand accounts
            parts = ["names identical after normalising" if name_score[i] >= 100 else
                     f"names {name_score[i]:.0f} % similar"]
            parts += [f"same {c}" for c, (eq, _) in flags.items() if eq[i]]
            parts += [f"different {c}" for c, (_, ne) in flags.items() if ne[i]]
            ev.append("; ".join(parts))
        lo, hi = lo[ok], hi[ok]
        cand = pd.DataFrame({
            "left_id": ids[lo], "right_id": ids[hi], "left_name": names[lo], "right_name": names[hi],
            "score": np.round(score[ok], 1), "name_score": np.round(name_score[ok], 1), "evidence": ev,
        })
        self.candidates_ = cand.sort_values(["score", "left_id", "right_id"], ascending=[False, True, True],
                                            kind="stable").reset_index(drop=True)
        return self


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("left_id", object), ("right_id", object), ("left_name", object), ("right_name", object),
        ("score", float), ("name_score", float), ("evidence", object))})


def find_duplicates(accounts: pd.DataFrame, threshold: float = 92.0, window: int = 4) -> pd.DataFrame:
    """Candidate duplicate pairs, best first.

    Parameters
    ----------
    accounts : canonical accounts (``account_id``, ``name``; ``postcode``, ``city``, ``country`` used as evidence).
    threshold : smallest score (0–100) to report.
    window : neighbours compared per account and blocking key.

    Returns
    -------
    DataFrame ``left_id, right_id, left_name, right_name, score, name_score, evidence`` — one row per pair
    for the user to accept or reject.
    """
    return DuplicateFinder(threshold=threshold, window=window).fit(accounts).candidates_


@dataclass
class MergeResult:
    """Accounts after merging: ``accounts`` (survivors, with ``source_ids``), ``id_map`` (old → survivor id)
    and ``history`` (revenue history re-keyed to survivors, or ``None``)."""

    accounts: pd.DataFrame
    id_map: pd.Series
    history: pd.DataFrame | None
    merged_groups: int


def merge_duplicates(accounts: pd.DataFrame, pairs: pd.DataFrame, history: pd.DataFrame | None = None) -> MergeResult:
    """Merge accepted duplicate pairs (transitively) into one account per group.

    The survivor is the account with the highest ``revenue_12m`` (first in file order on ties). Its blanks
    are filled from the others; ``revenue_12m``, ``potential`` and ``service_need`` are summed (the same
    customer's business was split over records); ``employees`` takes the maximum. ``source_ids`` lists every
    source id of the group joined by ``;`` (survivor first) so CRM move files can address all records;
    ``source_id`` stays the survivor's. Parent ids and history rows pointing at merged-away accounts are
    re-keyed to the survivor.

    Parameters
    ----------
    accounts : canonical accounts.
    pairs : accepted pairs with ``left_id``, ``right_id``.
    history : optional long revenue history to re-key.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    acc = accounts.reset_index(drop=True).copy()
    ids = acc["account_id"].astype("string")
    pos = pd.Index(ids)
    src = acc["source_id"].astype("string").fillna(ids) if "source_id" in acc else ids
    if "source_ids" in acc:
        src = acc["source_ids"].astype("string").fillna(src)
    n = len(acc)
    li = pos.get_indexer(pairs["left_id"].astype("string")) if len(pairs) else np.array([], int)
    ri = pos.get_indexer(pairs["right_id"].astype("string")) if len(pairs) else np.array([], int)
    ok = (li >= 0) & (ri >= 0)
    graph = coo_matrix((np.ones(ok.sum()), (li[ok], ri[ok])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    rev = acc["revenue_12m"].astype("float64").fillna(0).to_numpy() if "revenue_12m" in acc else np.zeros(n)
    order = np.lexsort((np.arange(n), -rev, comp))  # per component: highest revenue first, then file order
    first = np.ones(n, bool)
    first[1:] = comp[order][1:] != comp[order][:-1]
    survivor_of_comp = np.empty(comp.max() + 1 if n else 0, dtype=np.int64)
    survivor_of_comp[comp[order][first]] = order[first]
    surv = survivor_of_comp[comp]
    id_map = pd.Series(ids.to_numpy()[surv], index=ids.to_numpy(), name="survivor_id")
    size = np.bincount(comp)[comp]
    # only the accounts in a group of two or more are combined; everyone else stays as is (fast at 1M rows)
    multi = order[size[order] > 1]
    out = acc.copy()
    out["source_ids"] = src
    if len(multi):
        part = acc.iloc[multi].assign(_grp=comp[multi])
        g = part.groupby("_grp", sort=True)
        merged = g.first()  # first non-null per column, the survivor's values first
        for col in ("revenue_12m", "potential", "service_need"):
            if col in acc:
                merged[col] = g[col].sum(min_count=1)
        if "employees" in acc:
            merged["employees"] = g["employees"].max()
        merged["source_ids"] = (pd.Series(src.to_numpy()[multi], index=comp[multi]).dropna()
                                .groupby(level=0, sort=True).agg(lambda s: ";".join(dict.fromkeys(s))))
        rows = survivor_of_comp[merged.index.to_numpy()]
        merged.index = rows
        for col in merged.columns:
            if col == "source_ids":
                out.loc[rows, col] = merged[col].to_numpy()
                continue
            if col in ("account_id", "source_id"):
                continue  # the survivor keeps its own ids
            vals = merged[col]
            try:
                out.loc[rows, col] = vals.astype(acc[col].dtype).to_numpy()
            except (TypeError, ValueError):
                out[col] = out[col].astype(object)
                out.loc[rows, col] = vals.to_numpy()
    merged = out[surv == np.arange(n)].reset_index(drop=True)
    if "parent_id" in merged:
        p = merged["parent_id"].astype("string")
        remapped = p.map(id_map).astype("string")
        merged["parent_id"] = remapped.fillna(p).where(remapped.fillna(p) != merged["account_id"]).astype("string")
    hist = None
    if history is not None:
        hist = history.copy()
        hist["account_id"] = hist["account_id"].astype("string").map(id_map).fillna(hist["account_id"])
        hist = hist.groupby(["account_id", "period"], as_index=False, sort=True)["revenue"].sum()
    groups = int((pd.Series(comp).value_counts() > 1).sum())
    return MergeResult(accounts=merged, id_map=id_map, history=hist, merged_groups=groups)


def merge_book(book, pairs: pd.DataFrame):
    """A new :class:`~workbench.book.AccountBook` with the accepted duplicate ``pairs`` merged.

    Accounts are merged by :func:`merge_duplicates`, the history is re-keyed, owners stay the survivors',
    and the report gets a note and every merged group's ids (so the step can be audited).
    """
    from copy import deepcopy

    from .book import AccountBook

    res = merge_duplicates(book.accounts, pairs, book.history)
    report = deepcopy(book.report)
    folded = len(book.accounts) - len(res.accounts)
    report.notes.append(f"duplicates: {len(pairs):,} accepted pairs merged {folded:,} records into "
                        f"{res.merged_groups:,} accounts (every source id kept in source_ids)")
    return AccountBook(accounts=res.accounts, managers=book.managers, history=res.history, report=report,
                       currency=book.currency)


# ------------------------------------------------------------------------------------------ families


def resolve_parent_names(accounts: pd.DataFrame, column: str = "parent_name") -> tuple[pd.DataFrame, list[str]]:
    """Fill ``parent_id`` from a parent NAME column (e.g. Maven's ``subsidiary_of``) by normalised name.

    A parent name that matches exactly one account's normalised name gives that account's id; names that
    match none (or several) stay unresolved and are returned so the report can list them.

    Returns
    -------
    (accounts with ``parent_id`` filled where it was empty, sorted list of unresolved parent names)
    """
    acc = accounts.copy()
    if column not in acc or acc[column].isna().all():
        return acc, []
    key = normalise_names(acc["name"])
    counts = key.value_counts()
    unique_keys = key[key.map(counts) == 1]
    lookup = pd.Series(acc.loc[unique_keys.index, "account_id"].astype("string").to_numpy(),
                       index=unique_keys.to_numpy())
    pname = acc[column].astype("string").str.strip()
    pkey = normalise_names(pname)
    found = pkey.map(lookup).astype("string")
    # an account is not its own parent
    found = found.where(found != acc["account_id"].astype("string"))
    parent = acc["parent_id"].astype("string") if "parent_id" in acc else pd.Series(pd.NA, index=acc.index,
                                                                                    dtype="string")
    acc["parent_id"] = parent.fillna(found)
    unresolved = sorted(set(pname[pname.notna() & (pname != "") & found.isna()]))
    return acc, unresolved


def account_families(accounts: pd.DataFrame) -> pd.DataFrame:
    """Family per account: ``account_id``, ``family_id`` (top ancestor via ``parent_id``), ``family_size``.

    Later steps move a family as one unit (see ``workbench.book.account_units``).
    """
    from .book import account_units

    fam = account_units(accounts)
    out = pd.DataFrame({"account_id": accounts["account_id"].to_numpy(), "family_id": fam})
    out["family_size"] = out.groupby("family_id")["account_id"].transform("size").astype("int64")
    return out
