"""The numbers the reallocation objective assumes, in one place, each with its source and a sensible range."""

from __future__ import annotations

__all__ = ["ASSUMPTIONS", "COUNTRY_LANGUAGE"]

ASSUMPTIONS: dict[str, dict] = {
    "owner_change_loss": {
        "value": 0.15, "range": (0.132, 0.176), "unit": "share of the account's annual revenue",
        "source": "Shi, Sridhar, Grewal & Lilien 2017, Journal of Marketing 81(2): 13.2-17.6 % lost on an owner change",
    },
    "avoidable_with_experience": {
        "value": 0.40, "range": (0.3, 0.5), "unit": "share of the owner-change loss",
        "source": "Shi et al. 2017: about 40 % of the loss avoidable with a new owner of similar industry experience",
    },
    "handover_hours": {
        "value": 8.0, "range": (2.0, 16.0), "unit": "manager hours per owner change",
        "source": "workshop default (intro meeting, account plan review, CRM hand-over), priced at the managers' "
                  "mean cost per hour as in time-driven activity-based costing (Kaplan & Anderson 2004)",
    },
    "default_cost_per_hour": {
        "value": 80.0, "range": (40.0, 150.0), "unit": "currency per manager hour",
        "source": "used when the managers table has no cost: ~120 k fully loaded cost / 1,500 h",
    },
    "region_mismatch": {
        "value": 0.03, "range": (0.0, 0.1), "unit": "share of account value per year",
        "source": "workshop default (travel and local knowledge); no published figure",
    },
    "language_mismatch": {
        "value": 0.05, "range": (0.0, 0.15), "unit": "share of account value per year",
        "source": "workshop default (service in the customer's language); no published figure",
    },
    "role_mismatch": {
        "value": 0.10, "range": (0.0, 0.3), "unit": "share of account value per year",
        "source": "workshop default: an account served by another role than its segment's coverage role "
                  "(only possible when that role is short of capacity)",
    },
    "potential_weight": {
        "value": 0.10, "range": (0.0, 0.5), "unit": "share of potential counted as account value",
        "source": "workshop default: value at stake = revenue + 10 % of untapped potential",
    },
    "balance_rate": {
        "value": 0.02, "range": (0.0, 0.2), "unit": "share of the book's mean value per hour, per hour above target",
        "source": "workshop default: a weak pull towards the target inside the band (the band itself is hard)",
    },
    "industry_experience_min_share": {
        "value": 0.05, "range": (0.0, 0.2), "unit": "share of a manager's accounts",
        "source": "a manager 'has experience' in an industry holding at least this share (and 2) of their accounts",
    },
}

# Primary business language by country (ISO-3166 alpha-2 → ISO-639-1); unknown countries impose no language.
COUNTRY_LANGUAGE: dict[str, str] = {
    "DE": "de", "AT": "de", "CH": "de", "LI": "de", "LU": "fr", "FR": "fr", "BE": "nl", "NL": "nl",
    "IT": "it", "ES": "es", "PT": "pt", "PL": "pl", "CZ": "cs", "SK": "sk", "HU": "hu", "DK": "da",
    "SE": "sv", "NO": "no", "FI": "fi", "GB": "en", "UK": "en", "IE": "en", "US": "en", "CA": "en",
    "AU": "en", "NZ": "en", "SI": "sl", "HR": "hr", "RO": "ro", "BG": "bg", "GR": "el", "TR": "tr",
    "JP": "ja", "CN": "zh", "BR": "pt", "MX": "es",
}
