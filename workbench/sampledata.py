"""Synthetic but realistic DACH B2B account books (accounts, managers, monthly revenue) with a hidden truth.

Every demo and test runs on these books, so the generating process is explicit and documented here; the
segmentation step should recover the tiers, the KPI backtest should recover growth and churn, and the
harmonisation step should find the planted duplicates.

The generating process
----------------------
Everything is drawn with numpy from one ``np.random.default_rng(seed)`` over whole arrays (no Python loop over
accounts), so the same arguments give byte-identical files.

1. **Location.** Country DE / AT / CH with shares 90 / 5.5 / 4.5 %; inside a country a real city is drawn with
   probability ~ population^0.8 from ``CITIES`` (city, Bundesland / canton, postcode range). The postcode is
   uniform in the city's range (5 digits in DE, 4 in AT/CH), ``region`` is the Bundesland or canton.
2. **Tier** (the truth segmentation should recover) with shares Strategic 3 %, Grow 15 %, Maintain 34 %,
   Long tail 48 %. Per tier (see ``TIER_PROCESS``):

   ============ ============== ======== ============== ============ ============ ============= ===========
   tier         annual revenue log-sd   potential /    service need growth / yr  seasonality   churn in
                median (EUR)            revenue        median (h/y)  mean (sd)   amplitude     window
   ============ ============== ======== ============== ============ ============ ============= ===========
   Strategic    900,000        0.55     1.1 – 1.5      190          +4 % (5 %)   0.05 – 0.20   0.5 %
   Grow         140,000        0.60     1.8 – 4.0      62           +25 % (10 %) 0.05 – 0.30   2 %
   Maintain     45,000         0.55     1.0 – 1.25     20           0 % (5 %)    0.05 – 0.30   5 %
   Long tail    7,000          0.90     1.0 – 1.6      4            −6 % (10 %)  0.00 – 0.40   12 %
   ============ ============== ======== ============== ============ ============ ============= ===========

   ``base_revenue`` (annual level at the last month) is log-normal around the tier median; ``service_need``
   scales with revenue^0.3 around the tier median (log-sd 0.3); ``employees`` follow revenue^0.6 around a tier
   median (20 / 150 / 400 / 3,000 people) with log-sd 0.5; ``potential`` is revenue × the tier's multiplier.
3. **Monthly revenue** for ``n_months`` months ending at ``end_month``:
   ``base/12 · (1+g)^((t−T+1)/12) · (1 + a·cos(2π(month − peak)/12)) · lognormal(0, s)`` with ``g`` the growth
   rate, ``a`` the seasonality amplitude, ``peak`` the industry's peak month (± 1) and ``s`` the tier's noise
   (0.10 / 0.20 / 0.25 / 0.45). Long-tail accounts order lumpily (a month without an order with probability
   0.3). Churned accounts drop to 0 at their churn month and stay at 0; about 4 % of accounts (mostly Grow)
   are new customers whose history starts late (no rows before their first month). Amounts are whole cents and
   ``revenue_12m`` is exactly the sum of the last 12 months of history.
4. **Families.** 1.2 % of accounts (weighted towards Strategic and Grow) are parents with 1 + Poisson(2)
   subsidiaries each (≈ 5 % of all accounts are family members); a subsidiary's name extends the parent's
   ("Müller Logistik Service GmbH", "… Austria GmbH"), shares its industry with probability 0.8 and keeps
   the parent's owner with probability 0.7 (so some families are split across owners).
5. **Managers.** Roles exactly "Key Account Manager", "Account Manager", "Inside Sales"; each tier is routed
   to roles (Strategic → KAM 85 %, AM 15 %; Grow → AM 75 %; Maintain → AM 55 %, Inside Sales 42 %;
   Long tail → Inside Sales 85 %) and each role gets managers in proportion to the service need routed to it.
   A role's managers are placed in regions by largest remainder of that role's hours there (small regions
   get none and are served from elsewhere); ``capacity_hours`` 1,300 – 1,600 h/year,
   ``cost`` by role (KAM ~170 k, AM ~115 k, Inside Sales ~75 k EUR/year); languages ``de;en`` (plus ``fr`` /
   ``it`` in the French- and Italian-speaking cantons, and some ``fr`` elsewhere).
6. **Current owners** are deliberately uneven: each manager has a log-normal "pull" (log-sd 0.45); an account
   picks a manager of its routed role in its own region with probability 0.85 (else in its country, else
   anywhere), weighted by pull. About 1 % of accounts (10 % of new customers) are unowned. The result has managers well over capacity
   (> 115 %), under-used ones (< 85 %) and accounts owned outside their region. With the default 50 accounts
   per manager the total service need is ~85–90 % of the total capacity, so a balanced plan exists.
7. **Dirt** (``dirty=True``): 2 % extra near-duplicate accounts of existing ones (legal-form variants
   "GmbH"/"G.m.b.H.", umlaut transliteration "Müller"/"Mueller", a typo, word order, upper case) that share the
   original's revenue (the original keeps 1 − f); missing industry / employees / postcode / potential /
   owner / city; country written out ("Deutschland"); and a few impossible values: negative ``revenue_12m``,
   ``employees = -1``, postcodes of the wrong length (a lost leading zero, a dropped digit). Each planted
   defect is recorded in ``truth.dirt`` and each duplicate in ``truth.duplicate_of``.

Python: ``generate(n_accounts=2000, n_managers=40, n_months=24, seed=42) -> SampleData``;
``data.book()`` gives a validated ``AccountBook``, ``data.write(folder, truth=False)`` writes the CSV files.
CLI: ``workbench sample-data --accounts N --managers M --months K --seed S --out DIR [--dirty] [--truth]``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from . import schema
from .book import AccountBook, ImportReport

__all__ = [
    "TIERS",
    "ROLES",
    "CITIES",
    "TIER_PROCESS",
    "SampleData",
    "generate",
]

TIERS: tuple[str, ...] = ("Strategic", "Grow", "Maintain", "Long tail")
ROLES: tuple[str, ...] = ("Key Account Manager", "Account Manager", "Inside Sales")

# The generating process per tier (rows in TIERS order); the module docstring explains each column.
TIER_PROCESS = pd.DataFrame({
    "share": [0.03, 0.15, 0.34, 0.48],
    "revenue_median": [900_000.0, 140_000.0, 45_000.0, 7_000.0],       # EUR / year
    "revenue_logsd": [0.55, 0.60, 0.55, 0.90],
    "potential_lo": [1.1, 1.8, 1.0, 1.0],                                # × revenue
    "potential_hi": [1.5, 4.0, 1.25, 1.6],
    "need_median": [190.0, 62.0, 20.0, 4.0],                              # hours / year
    "employees_median": [3000.0, 400.0, 150.0, 20.0],                     # people
    "growth_mean": [0.04, 0.25, 0.0, -0.06],                              # per year
    "growth_sd": [0.05, 0.10, 0.05, 0.10],
    "season_lo": [0.05, 0.05, 0.05, 0.0],
    "season_hi": [0.20, 0.30, 0.30, 0.40],
    "noise_sd": [0.10, 0.20, 0.25, 0.45],
    "churn_prob": [0.005, 0.02, 0.05, 0.12],                              # churned inside the window
    "new_prob": [0.0, 0.15, 0.02, 0.02],                                  # history starts late
    "gap_prob": [0.0, 0.0, 0.0, 0.30],                                    # month without an order
    "role_kam": [0.85, 0.10, 0.03, 0.0],                                  # routing to the owner's role
    "role_am": [0.15, 0.75, 0.55, 0.15],
    "role_is": [0.0, 0.15, 0.42, 0.85],
    "family_weight": [8.0, 3.0, 1.0, 0.15],                               # relative chance to be a parent
}, index=pd.Index(TIERS, name="tier"))

_COUNTRY_SHARE = {"DE": 0.90, "AT": 0.055, "CH": 0.045}

# Real cities with their Bundesland / canton and a plausible postcode range (lo, hi, step); population in
# thousands (rounded) drives how often a city is drawn. lang is the local business language.
_CITY_ROWS = [
    # country, city, region, plz_lo, plz_hi, step, population_k, lang
    ("DE", "Berlin", "Berlin", 10115, 14199, 1, 3700, "de"),
    ("DE", "Hamburg", "Hamburg", 20095, 22769, 1, 1900, "de"),
    ("DE", "München", "Bayern", 80331, 81929, 1, 1500, "de"),
    ("DE", "Köln", "Nordrhein-Westfalen", 50667, 51149, 1, 1080, "de"),
    ("DE", "Frankfurt am Main", "Hessen", 60306, 60599, 1, 760, "de"),
    ("DE", "Stuttgart", "Baden-Württemberg", 70173, 70629, 1, 630, "de"),
    ("DE", "Düsseldorf", "Nordrhein-Westfalen", 40210, 40629, 1, 620, "de"),
    ("DE", "Leipzig", "Sachsen", 4103, 4357, 1, 600, "de"),
    ("DE", "Dortmund", "Nordrhein-Westfalen", 44135, 44388, 1, 590, "de"),
    ("DE", "Essen", "Nordrhein-Westfalen", 45127, 45359, 1, 580, "de"),
    ("DE", "Bremen", "Bremen", 28195, 28779, 1, 570, "de"),
    ("DE", "Dresden", "Sachsen", 1067, 1328, 1, 560, "de"),
    ("DE", "Hannover", "Niedersachsen", 30159, 30669, 1, 540, "de"),
    ("DE", "Nürnberg", "Bayern", 90402, 90491, 1, 520, "de"),
    ("DE", "Duisburg", "Nordrhein-Westfalen", 47051, 47279, 1, 500, "de"),
    ("DE", "Bochum", "Nordrhein-Westfalen", 44787, 44894, 1, 365, "de"),
    ("DE", "Wuppertal", "Nordrhein-Westfalen", 42103, 42399, 1, 355, "de"),
    ("DE", "Bielefeld", "Nordrhein-Westfalen", 33602, 33739, 1, 335, "de"),
    ("DE", "Bonn", "Nordrhein-Westfalen", 53111, 53229, 1, 330, "de"),
    ("DE", "Münster", "Nordrhein-Westfalen", 48143, 48167, 1, 320, "de"),
    ("DE", "Mannheim", "Baden-Württemberg", 68159, 68309, 1, 315, "de"),
    ("DE", "Karlsruhe", "Baden-Württemberg", 76131, 76229, 1, 308, "de"),
    ("DE", "Augsburg", "Bayern", 86150, 86199, 1, 300, "de"),
    ("DE", "Wiesbaden", "Hessen", 65183, 65207, 1, 280, "de"),
    ("DE", "Mönchengladbach", "Nordrhein-Westfalen", 41061, 41239, 1, 260, "de"),
    ("DE", "Gelsenkirchen", "Nordrhein-Westfalen", 45879, 45899, 1, 260, "de"),
    ("DE", "Aachen", "Nordrhein-Westfalen", 52062, 52080, 1, 250, "de"),
    ("DE", "Braunschweig", "Niedersachsen", 38100, 38126, 1, 250, "de"),
    ("DE", "Kiel", "Schleswig-Holstein", 24103, 24159, 1, 247, "de"),
    ("DE", "Chemnitz", "Sachsen", 9111, 9247, 1, 245, "de"),
    ("DE", "Halle (Saale)", "Sachsen-Anhalt", 6108, 6132, 1, 240, "de"),
    ("DE", "Magdeburg", "Sachsen-Anhalt", 39104, 39130, 1, 237, "de"),
    ("DE", "Freiburg im Breisgau", "Baden-Württemberg", 79098, 79117, 1, 230, "de"),
    ("DE", "Krefeld", "Nordrhein-Westfalen", 47798, 47839, 1, 227, "de"),
    ("DE", "Mainz", "Rheinland-Pfalz", 55116, 55131, 1, 218, "de"),
    ("DE", "Lübeck", "Schleswig-Holstein", 23552, 23570, 1, 216, "de"),
    ("DE", "Erfurt", "Thüringen", 99084, 99099, 1, 214, "de"),
    ("DE", "Rostock", "Mecklenburg-Vorpommern", 18055, 18147, 1, 209, "de"),
    ("DE", "Kassel", "Hessen", 34117, 34134, 1, 200, "de"),
    ("DE", "Potsdam", "Brandenburg", 14467, 14482, 1, 183, "de"),
    ("DE", "Saarbrücken", "Saarland", 66111, 66133, 1, 180, "de"),
    ("DE", "Ludwigshafen am Rhein", "Rheinland-Pfalz", 67059, 67071, 1, 172, "de"),
    ("DE", "Oldenburg", "Niedersachsen", 26121, 26135, 1, 170, "de"),
    ("DE", "Osnabrück", "Niedersachsen", 49074, 49090, 1, 165, "de"),
    ("DE", "Heidelberg", "Baden-Württemberg", 69115, 69126, 1, 160, "de"),
    ("DE", "Darmstadt", "Hessen", 64283, 64297, 1, 160, "de"),
    ("DE", "Regensburg", "Bayern", 93047, 93059, 1, 153, "de"),
    ("DE", "Paderborn", "Nordrhein-Westfalen", 33098, 33106, 1, 152, "de"),
    ("DE", "Ingolstadt", "Bayern", 85049, 85057, 1, 138, "de"),
    ("DE", "Würzburg", "Bayern", 97070, 97084, 1, 127, "de"),
    ("DE", "Ulm", "Baden-Württemberg", 89073, 89081, 1, 126, "de"),
    ("DE", "Heilbronn", "Baden-Württemberg", 74072, 74081, 1, 126, "de"),
    ("DE", "Wolfsburg", "Niedersachsen", 38440, 38448, 1, 125, "de"),
    ("DE", "Pforzheim", "Baden-Württemberg", 75172, 75181, 1, 125, "de"),
    ("DE", "Göttingen", "Niedersachsen", 37073, 37085, 1, 118, "de"),
    ("DE", "Reutlingen", "Baden-Württemberg", 72760, 72770, 1, 116, "de"),
    ("DE", "Bremerhaven", "Bremen", 27568, 27580, 1, 115, "de"),
    ("DE", "Koblenz", "Rheinland-Pfalz", 56068, 56077, 1, 114, "de"),
    ("DE", "Erlangen", "Bayern", 91052, 91058, 1, 113, "de"),
    ("DE", "Jena", "Thüringen", 7743, 7751, 1, 110, "de"),
    ("DE", "Trier", "Rheinland-Pfalz", 54290, 54296, 1, 110, "de"),
    ("DE", "Siegen", "Nordrhein-Westfalen", 57072, 57080, 1, 102, "de"),
    ("DE", "Kaiserslautern", "Rheinland-Pfalz", 67655, 67663, 1, 100, "de"),
    ("DE", "Gütersloh", "Nordrhein-Westfalen", 33330, 33335, 1, 100, "de"),
    ("DE", "Cottbus", "Brandenburg", 3042, 3055, 1, 98, "de"),
    ("DE", "Schwerin", "Mecklenburg-Vorpommern", 19053, 19063, 1, 96, "de"),
    ("DE", "Gera", "Thüringen", 7545, 7557, 1, 93, "de"),
    ("DE", "Tübingen", "Baden-Württemberg", 72070, 72076, 1, 91, "de"),
    ("DE", "Flensburg", "Schleswig-Holstein", 24937, 24944, 1, 90, "de"),
    ("DE", "Zwickau", "Sachsen", 8056, 8066, 1, 88, "de"),
    ("DE", "Konstanz", "Baden-Württemberg", 78462, 78467, 1, 85, "de"),
    ("DE", "Bamberg", "Bayern", 96047, 96052, 1, 78, "de"),
    ("DE", "Dessau-Roßlau", "Sachsen-Anhalt", 6842, 6862, 1, 75, "de"),
    ("DE", "Fulda", "Hessen", 36037, 36043, 1, 68, "de"),
    ("DE", "Weimar", "Thüringen", 99423, 99428, 1, 65, "de"),
    ("DE", "Rosenheim", "Bayern", 83022, 83026, 1, 64, "de"),
    ("DE", "Neubrandenburg", "Mecklenburg-Vorpommern", 17033, 17036, 1, 63, "de"),
    ("DE", "Stralsund", "Mecklenburg-Vorpommern", 18435, 18439, 1, 59, "de"),
    ("DE", "Frankfurt (Oder)", "Brandenburg", 15230, 15236, 1, 57, "de"),
    ("DE", "Passau", "Bayern", 94032, 94036, 1, 53, "de"),
    ("DE", "Neunkirchen", "Saarland", 66538, 66540, 1, 46, "de"),
    ("AT", "Wien", "Wien", 1010, 1230, 10, 1980, "de"),
    ("AT", "Graz", "Steiermark", 8010, 8055, 1, 300, "de"),
    ("AT", "Linz", "Oberösterreich", 4020, 4040, 1, 210, "de"),
    ("AT", "Salzburg", "Salzburg", 5020, 5026, 1, 157, "de"),
    ("AT", "Innsbruck", "Tirol", 6020, 6080, 1, 132, "de"),
    ("AT", "Klagenfurt am Wörthersee", "Kärnten", 9020, 9073, 1, 102, "de"),
    ("AT", "Villach", "Kärnten", 9500, 9524, 1, 65, "de"),
    ("AT", "Wels", "Oberösterreich", 4600, 4600, 1, 63, "de"),
    ("AT", "St. Pölten", "Niederösterreich", 3100, 3151, 1, 56, "de"),
    ("AT", "Dornbirn", "Vorarlberg", 6850, 6850, 1, 50, "de"),
    ("AT", "Wiener Neustadt", "Niederösterreich", 2700, 2700, 1, 47, "de"),
    ("AT", "Steyr", "Oberösterreich", 4400, 4407, 1, 38, "de"),
    ("AT", "Feldkirch", "Vorarlberg", 6800, 6800, 1, 35, "de"),
    ("AT", "Bregenz", "Vorarlberg", 6900, 6900, 1, 30, "de"),
    ("AT", "Baden", "Niederösterreich", 2500, 2500, 1, 26, "de"),
    ("AT", "Leoben", "Steiermark", 8700, 8712, 1, 25, "de"),
    ("AT", "Eisenstadt", "Burgenland", 7000, 7000, 1, 15, "de"),
    ("CH", "Zürich", "Zürich", 8001, 8064, 1, 420, "de"),
    ("CH", "Genf", "Genf", 1201, 1209, 1, 200, "fr"),
    ("CH", "Basel", "Basel-Stadt", 4001, 4059, 1, 175, "de"),
    ("CH", "Lausanne", "Waadt", 1003, 1018, 1, 140, "fr"),
    ("CH", "Bern", "Bern", 3001, 3030, 1, 134, "de"),
    ("CH", "Winterthur", "Zürich", 8400, 8411, 1, 115, "de"),
    ("CH", "Luzern", "Luzern", 6003, 6015, 1, 82, "de"),
    ("CH", "St. Gallen", "St. Gallen", 9000, 9016, 1, 76, "de"),
    ("CH", "Lugano", "Tessin", 6900, 6917, 1, 63, "it"),
    ("CH", "Biel/Bienne", "Bern", 2500, 2505, 1, 55, "de"),
    ("CH", "Thun", "Bern", 3600, 3609, 1, 44, "de"),
    ("CH", "Fribourg", "Freiburg", 1700, 1708, 1, 38, "fr"),
    ("CH", "Schaffhausen", "Schaffhausen", 8200, 8208, 1, 37, "de"),
    ("CH", "Chur", "Graubünden", 7000, 7007, 1, 37, "de"),
    ("CH", "Sion", "Wallis", 1950, 1951, 1, 35, "fr"),
    ("CH", "Neuchâtel", "Neuenburg", 2000, 2000, 1, 34, "fr"),
    ("CH", "Zug", "Zug", 6300, 6304, 1, 31, "de"),
    ("CH", "Frauenfeld", "Thurgau", 8500, 8500, 1, 26, "de"),
    ("CH", "Aarau", "Aargau", 5000, 5004, 1, 22, "de"),
    ("CH", "Baden", "Aargau", 5400, 5406, 1, 20, "de"),
    ("CH", "Solothurn", "Solothurn", 4500, 4500, 1, 17, "de"),
    ("CH", "Liestal", "Basel-Landschaft", 4410, 4410, 1, 15, "de"),
]
CITIES = pd.DataFrame(_CITY_ROWS, columns=["country", "city", "region", "plz_lo", "plz_hi", "plz_step",
                                           "population_k", "lang"])

# Industry: weight, peak month of its seasonality, words used in company names.
_INDUSTRIES = [
    ("Maschinenbau", 0.14, 11, ["Maschinenbau", "Anlagenbau", "Präzisionstechnik", "Antriebstechnik",
                                "Fördertechnik"]),
    ("Automobilzulieferer", 0.07, 3, ["Automotive", "Fahrzeugtechnik", "Karosseriebau", "Fahrzeugteile"]),
    ("Chemie", 0.05, 4, ["Chemie", "Chemiewerke", "Lackfabrik", "Klebstoffe"]),
    ("Pharma & Medizintechnik", 0.05, 10, ["Pharma", "Medizintechnik", "Labortechnik", "Diagnostik"]),
    ("Lebensmittel", 0.08, 12, ["Lebensmittel", "Feinkost", "Backwaren", "Molkerei", "Getränke"]),
    ("Logistik", 0.09, 11, ["Logistik", "Spedition", "Transporte", "Lagerlogistik"]),
    ("Großhandel", 0.11, 12, ["Großhandel", "Handelsgesellschaft", "Vertrieb", "Import-Export"]),
    ("Bau", 0.09, 7, ["Bau", "Bauunternehmung", "Hochbau", "Tiefbau", "Baustoffe"]),
    ("Elektrotechnik", 0.08, 10, ["Elektrotechnik", "Elektronik", "Schaltanlagen", "Elektroanlagen"]),
    ("IT-Dienstleistungen", 0.09, 12, ["IT-Services", "Software", "Systemhaus", "Datentechnik", "Informatik"]),
    ("Energie", 0.04, 1, ["Energie", "Energietechnik", "Solartechnik", "Wärmetechnik"]),
    ("Metallverarbeitung", 0.06, 5, ["Metallbau", "Stahlbau", "Metallwerk", "Gießerei", "Umformtechnik"]),
    ("Gesundheitswesen", 0.02, 2, ["Pflegedienste", "Gesundheitsdienste", "Klinikservice"]),
    ("Medien & Druck", 0.03, 11, ["Druckerei", "Verlag", "Medien", "Werbetechnik"]),
]

_SURNAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
           "Schmitz", "Krause", "Meier", "Lehmann", "Schulze", "Maier", "Köhler", "Herrmann", "König",
           "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß",
           "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger",
           "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon",
           "Ludwig", "Böhm", "Winter", "Kraus", "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto",
           "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte",
           "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Voigt",
           "Sauer", "Arnold", "Wolff", "Pfeiffer", "Brüggemann", "Düring", "Gößling", "Thyssen", "Röhrig"],
    "AT": ["Gruber", "Huber", "Bauer", "Wagner", "Müller", "Pichler", "Steiner", "Moser", "Mayer", "Hofer",
           "Leitner", "Berger", "Fuchs", "Eder", "Fischer", "Schmid", "Winkler", "Weber", "Schwarz", "Maier",
           "Schneider", "Reiter", "Mayr", "Schmidt", "Wimmer", "Egger", "Brunner", "Lang", "Baumgartner",
           "Auer", "Binder", "Lechner", "Wolf", "Wallner", "Aigner", "Ebner", "Koller", "Lehner", "Haas",
           "Schuster", "Höller", "Pöll", "Strobl", "Zöchling"],
    "CH": ["Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Meyer", "Schneider", "Steiner",
           "Fischer", "Gerber", "Brunner", "Baumann", "Frei", "Zimmermann", "Moser", "Widmer", "Wyss", "Graf",
           "Roth", "Suter", "Baumgartner", "Bachmann", "Studer", "Bühler", "Bieri", "Hofmann", "Kälin",
           "Zürcher", "Lüthi", "Favre", "Rochat", "Bonvin", "Rossi", "Bernasconi", "Künzli", "Näf"],
}
# Prefix + stem make invented brand names ("Rheintec", "Alpenwerk"); region-flavoured on purpose.
_BRAND_PREFIX = ["Nord", "Süd", "West", "Ost", "Rhein", "Alpen", "Donau", "Elb", "Main", "Isar", "Neckar",
                 "Spree", "Weser", "Ruhr", "Bodensee", "Harz", "Eifel", "Tauber", "Mosel", "Inn", "Euro",
                 "Prima", "Inno", "Meister", "Kontor", "Hanse", "Schwaben", "Franken", "Tiroler", "Stein"]
_BRAND_STEM = ["tec", "werk", "tronic", "plan", "data", "bau", "stahl", "form", "med", "trans", "logic",
               "matic", "pro", "line", "therm", "chem", "pack", "licht", "kraft", "guss"]
_SUBSIDIARY_WORD = ["Service", "Vertrieb", "Systems", "Technik", "International", "Holding", "Produktion",
                    "Beteiligungs"]
_FIRST_NAMES = {
    "de": ["Anna", "Lena", "Julia", "Katharina", "Sabine", "Claudia", "Stefanie", "Miriam", "Sophie", "Jana",
           "Thomas", "Michael", "Andreas", "Stefan", "Markus", "Jörg", "Jürgen", "Tobias", "Florian",
           "Matthias", "Lukas", "Jan", "Björn", "Sören", "Özlem", "Hülya", "Dominik", "Christoph", "Ute",
           "Kerstin"],
    "fr": ["Claire", "Sophie", "Camille", "Nathalie", "Julien", "Nicolas", "Olivier", "Pierre", "Céline",
           "Amélie"],
    "it": ["Giulia", "Chiara", "Francesca", "Marco", "Luca", "Matteo", "Alessandro", "Paolo"],
}

# Legal forms, the generic form a company is drawn with, then spelled per country / language area.
_LEGAL = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "SE")
# Probability of each generic legal form per company size class (employees <10, <250, <2000, >=2000).
_LEGAL_BY_SIZE = np.array([
    [0.55, 0.00, 0.08, 0.07, 0.30, 0.00],
    [0.60, 0.05, 0.08, 0.25, 0.02, 0.00],
    [0.45, 0.25, 0.02, 0.25, 0.00, 0.03],
    [0.15, 0.50, 0.00, 0.15, 0.00, 0.20],
])
_LEGAL_SPELLING = {  # (country, lang) -> spelling of each generic form in _LEGAL order
    ("DE", "de"): _LEGAL,
    ("AT", "de"): ("GmbH", "AG", "KG", "GmbH & Co KG", "e.U.", "SE"),
    ("CH", "de"): ("GmbH", "AG", "KG", "AG", "GmbH", "AG"),
    ("CH", "fr"): ("Sàrl", "SA", "SNC", "SA", "Sàrl", "SA"),
    ("CH", "it"): ("Sagl", "SA", "SNC", "SA", "Sagl", "SA"),
}
# Near-duplicate legal-form variants as a CRM holds them (regex pattern, replacement).
_LEGAL_VARIANTS = [(r" GmbH & Co\. KG$", " GmbH & Co KG"), (r" GmbH$", " G.m.b.H."), (r" AG$", " Aktiengesellschaft"),
                   (r" e\.K\.$", " e. K."), (r" KG$", " Kommanditgesellschaft"), (r" SE$", " S.E.")]
_COUNTRY_WRITTEN = {"DE": "Deutschland", "AT": "Österreich", "CH": "Schweiz"}

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_SF_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)

_STR = np.dtypes.StringDType()


@dataclass
class SampleData:
    """A generated book plus its hidden truth.

    ``accounts``, ``managers``, ``history`` are in the canonical schema (``workbench.schema``); ``history`` is
    long form ``account_id, period, revenue`` (period = first day of month, revenue in EUR/month).
    ``truth`` has one row per account: ``account_id``, ``true_tier``, ``base_revenue`` (EUR/year at the last
    month), ``growth_rate`` (per year, fraction), ``season_amplitude`` (fraction), ``season_peak_month``
    (1–12), ``noise_sd``, ``start_period`` / ``churn_period`` (first month with history / first month at 0;
    empty when none), ``duplicate_of`` (account_id of the original for planted duplicates) and ``dirt``
    (';'-separated planted defects). For a planted duplicate and its original the truth describes the
    company as a whole: their history rows add up to it. ``params`` holds the arguments of ``generate``.

    Text columns of ``accounts``/``managers``/``truth`` have pandas' ``string`` dtype, like ``load_book``
    gives; ``history.account_id`` is Arrow-backed ``string[pyarrow]`` so that tens of millions of rows hold
    no Python objects.
    """

    accounts: pd.DataFrame
    managers: pd.DataFrame
    history: pd.DataFrame
    truth: pd.DataFrame
    params: dict

    def book(self) -> AccountBook:
        """The data as a validated ``AccountBook`` (rows that break the schema land in ``book.report``)."""
        report = ImportReport()
        tables = {}
        for table, df in (("accounts", self.accounts), ("managers", self.managers), ("history", self.history)):
            v = schema.validate(df, table, file=f"{_FILE_STEMS[table]}.csv")
            report.add(v, f"{_FILE_STEMS[table]}.csv")
            tables[table] = v.accepted
        accounts, managers = tables["accounts"], tables["managers"]
        unknown = accounts["owner_id"].notna() & ~accounts["owner_id"].isin(managers["manager_id"])
        if unknown.any():
            accounts.loc[unknown, "owner_id"] = pd.NA
        return AccountBook(accounts=accounts, managers=managers, history=tables["history"], report=report)

    def write(self, out: str | Path, truth: bool = False) -> Path:
        """Write ``accounts.csv``, ``managers.csv``, ``revenue_history.csv`` (and ``truth.csv``) to ``out``.

        Plain UTF-8 CSV written by pyarrow: values unquoted (a table whose text holds a comma, quote or line
        break gets its text quoted instead), missing values empty, dates ISO ``YYYY-MM-DD``, whole-cent amounts
        with two decimals. The same data always gives byte-identical files.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        frames = {"accounts": self.accounts, "managers": self.managers, "history": self.history}
        if truth:
            frames["truth"] = self.truth
        for table, df in frames.items():
            _write_csv(df, out / f"{_FILE_STEMS[table]}.csv")
        return out


_FILE_STEMS = {"accounts": "accounts", "managers": "managers", "history": "revenue_history", "truth": "truth"}


def _csv_column(s: pd.Series) -> pa.Array:
    """One column as an Arrow array that the CSV writer formats fast and exactly.

    Money in whole cents becomes decimal(19, 2) ("939.40"; faster than shortest-float formatting); first-of-month
    dates (whole days) become a dictionary of ISO strings (24 distinct months in 24 M rows are formatted once).
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.to_numpy(dtype="datetime64[ns]")
        # A hash factorisation finds the few distinct days in one pass; only those are formatted.
        codes, days = pd.factorize(v.view(np.int64))
        days = days.view("datetime64[ns]")
        if s.notna().all() and len(v) and (days.astype("datetime64[D]") == days).all():
            labels = days.astype("datetime64[D]").astype(str)
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(labels))
        return pa.array(v.astype("datetime64[D]"), mask=s.isna().to_numpy())
    if pd.api.types.is_float_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        x = v * 100
        scaled = np.round(x)
        missing = np.isnan(v)
        if np.isinf(v).any():  # written as inf/-inf: shortest float text, no decimals
            return pa.array(v, mask=missing)
        if np.nanmax(np.abs(scaled - x), initial=0.0) < 1e-6 and np.nanmax(np.abs(scaled), initial=0.0) < 1e17:
            scaled[missing] = 0
            return pa.array(scaled.astype(np.int64), mask=missing).cast(pa.decimal128(19, 0)).view(
                pa.decimal128(19, 2))
        return pa.array(v, mask=missing)
    if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
        return pa.array(s, type=pa.string(), from_pandas=True)
    return pa.array(s, from_pandas=True)


def _write_csv(df: pd.DataFrame, path: Path, parts: int = 2) -> None:
    """Plain UTF-8 CSV: values unquoted unless they must be, missing values empty, dates ISO.

    Large tables are formatted in ``parts`` slices on threads (Arrow's writer releases the GIL) and the
    slices are written one after the other, so the file is the same as a single-threaded write.
    """
    table = pa.table({name: _csv_column(df[name]) for name in df.columns})
    quoting = "none"
    if table.num_rows < 1_000_000:
        parts = 1
    bounds = np.linspace(0, table.num_rows, parts + 1).astype(int)

    def render(k: int) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        opts = pacsv.WriteOptions(include_header=k == 0, quoting_style=quoting, quoting_header="none")
        pacsv.write_csv(table.slice(bounds[k], bounds[k + 1] - bounds[k]), sink, write_options=opts)
        return sink.getvalue()

    try:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            buffers = list(pool.map(render, range(parts)))
    except pa.ArrowInvalid:  # a value holds a comma, quote or line break: quote where needed
        quoting = "needed"
        buffers = [render(k) for k in range(parts)]
    with open(path, "wb") as fh:
        for buf in buffers:
            fh.write(buf)


# --------------------------------------------------------------------------------------------------------------
# helpers over whole arrays


def _choice_cdf(rng: np.random.Generator, cdf_rows: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One draw per element from the categorical distribution ``cdf_rows[row]`` (inverse CDF, vectorised)."""
    u = rng.random(len(row))
    out = np.empty(len(row), np.int64)
    for r in range(cdf_rows.shape[0]):  # a handful of distributions, not accounts
        m = row == r
        out[m] = np.searchsorted(cdf_rows[r], u[m], side="right")
    return np.minimum(out, cdf_rows.shape[1] - 1)


def _cat(*parts: np.ndarray | str) -> np.ndarray:
    """Concatenate string arrays / scalars element-wise (numpy StringDType, C speed)."""
    out = np.asarray(parts[0], dtype=_STR)
    for p in parts[1:]:
        out = np.strings.add(out, np.asarray(p, dtype=_STR))
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return _cat(prefix, np.strings.zfill(numbers.astype(_STR), width))


def _salesforce_ids(key_prefix: str, numbers: np.ndarray, salt: int) -> np.ndarray:
    """Salesforce-like 18-character ids: 3-char key prefix, pod "5g", 5 zeros, 5 base-62 chars, checksum.

    The 5 base-62 characters are a bijective scramble of ``numbers`` (so ids are unique and look random);
    the last 3 characters are Salesforce's real case-safe checksum of the first 15.
    """
    space = 62 ** 5
    # An odd multiplier not divisible by 31 is invertible modulo 62^5 = 2^5·31^5: a bijection on the id space.
    scrambled = (numbers.astype(np.int64) * 387_420_489 + salt) % space
    digits = np.empty((len(numbers), 5), np.uint8)
    for j in range(4, -1, -1):  # five digit positions, not accounts
        digits[:, j] = _BASE62[scrambled % 62]
        scrambled //= 62
    head = np.frombuffer((key_prefix + "5g00000").encode(), np.uint8)
    chars = np.concatenate([np.broadcast_to(head, (len(numbers), 10)), digits], axis=1)
    upper = (chars >= ord("A")) & (chars <= ord("Z"))
    weights = 1 << np.arange(5)
    suffix = np.stack([_SF_SUFFIX[(upper[:, 5 * k:5 * k + 5] * weights).sum(axis=1)] for k in range(3)], axis=1)
    full = np.ascontiguousarray(np.concatenate([chars, suffix], axis=1))
    return full.view("S18").ravel().astype(_STR)


def _pick_weighted(rng: np.random.Generator, account_key: np.ndarray, manager_key: np.ndarray,
                   manager_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each account, a manager whose key equals the account's key, drawn with probability ∝ weight.

    Returns (manager index, found) where ``found`` is False for accounts whose key no manager has.
    """
    order = np.argsort(manager_key, kind="stable")
    keys = manager_key[order]
    cum = np.cumsum(manager_weight[order])
    ukeys, start, counts = np.unique(keys, return_index=True, return_counts=True)
    pos = np.clip(np.searchsorted(ukeys, account_key), 0, len(ukeys) - 1)
    found = ukeys[pos] == account_key
    lo = start[pos]
    hi = lo + counts[pos] - 1
    before = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    target = before + rng.random(len(account_key)) * (cum[hi] - before)
    idx = np.clip(np.searchsorted(cum, target, side="right"), lo, hi)
    return order[idx], found


# --------------------------------------------------------------------------------------------------------------


def generate(n_accounts: int = 2000, n_managers: int = 40, n_months: int = 24, seed: int = 42,
             dirty: bool = False, end_month: str = "2026-10") -> SampleData:
    """Generate a DACH B2B account book with a hidden truth (see the module docstring for the process).

    Parameters
    ----------
    n_accounts : number of (clean) accounts; ``dirty`` adds 2 % near-duplicates on top.
    n_managers : number of account managers; ~50 accounts per manager keeps total need below capacity.
    n_months : months of revenue history (at least 12, so that ``revenue_12m`` is a full year).
    seed : seed of the only random generator used; same arguments → identical data.
    dirty : plant near-duplicates, missing and impossible values (recorded in ``truth``).
    end_month : last month of the history, ``"YYYY-MM"``.

    Returns
    -------
    SampleData with ``accounts``, ``managers``, ``history``, ``truth`` and the ``params`` used.
    """
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be at least 1, got {n_accounts}")
    if n_managers < 1:
        raise ValueError(f"n_managers must be at least 1, got {n_managers}")
    if n_months < 12:
        raise ValueError(f"n_months must be at least 12 (revenue_12m is a full year), got {n_months}")
    if not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", str(end_month)):
        raise ValueError(f"end_month must be a month like 2026-10, got {end_month!r}")
    last = pd.Period(end_month, freq="M")
    params = {"n_accounts": n_accounts, "n_managers": n_managers, "n_months": n_months, "seed": seed,
              "dirty": dirty, "end_month": str(last)}
    rng = np.random.default_rng(seed)
    n, T = n_accounts, n_months
    tp = TIER_PROCESS

    # --- location -----------------------------------------------------------------------------------
    countries = np.array(list(_COUNTRY_SHARE))
    country = rng.choice(len(countries), size=n, p=np.array(list(_COUNTRY_SHARE.values())))
    city_w = CITIES["population_k"].to_numpy(float) ** 0.8
    city_country = CITIES["country"].map({c: i for i, c in enumerate(countries)}).to_numpy()
    cdf = np.zeros((len(countries), len(CITIES)))
    for ci in range(len(countries)):  # three countries
        w = np.where(city_country == ci, city_w, 0.0)
        cdf[ci] = np.cumsum(w) / w.sum()
    city = _choice_cdf(rng, cdf, country)
    lo, hi, step = (CITIES[c].to_numpy() for c in ("plz_lo", "plz_hi", "plz_step"))
    plz = lo[city] + step[city] * rng.integers(0, (hi[city] - lo[city]) // step[city] + 1)
    plz_width = np.where(countries[country] == "DE", 5, 4)
    postcode = np.where(plz_width == 5, np.strings.zfill(plz.astype(_STR), 5), plz.astype(_STR))
    regions, region = np.unique(CITIES["region"].to_numpy(), return_inverse=True)
    acc_region = region[city]

    # --- tier, value, need --------------------------------------------------------------------------
    tier = rng.choice(len(TIERS), size=n, p=tp["share"].to_numpy())
    base_revenue = tp["revenue_median"].to_numpy()[tier] * np.exp(rng.normal(0, 1, n) * tp["revenue_logsd"].to_numpy()[tier])
    rel = base_revenue / tp["revenue_median"].to_numpy()[tier]
    growth = rng.normal(tp["growth_mean"].to_numpy()[tier], tp["growth_sd"].to_numpy()[tier])
    amp = rng.uniform(tp["season_lo"].to_numpy()[tier], tp["season_hi"].to_numpy()[tier])
    ind_w = np.array([i[1] for i in _INDUSTRIES])
    industry = rng.choice(len(_INDUSTRIES), size=n, p=ind_w / ind_w.sum())
    industry_peak = np.array([i[2] for i in _INDUSTRIES])
    peak_shift = rng.integers(-1, 2, n)
    peak = (industry_peak[industry] - 1 + peak_shift) % 12 + 1
    noise_sd = tp["noise_sd"].to_numpy()[tier]
    need = tp["need_median"].to_numpy()[tier] * rel ** 0.3 * np.exp(rng.normal(0, 0.3, n))
    need = np.maximum(np.round(need * 2) / 2, 0.5)
    employees = np.maximum(1, np.round(tp["employees_median"].to_numpy()[tier] * rel ** 0.6
                                       * np.exp(rng.normal(0, 0.5, n)))).astype(np.int64)
    pot_mult = rng.uniform(tp["potential_lo"].to_numpy()[tier], tp["potential_hi"].to_numpy()[tier])

    # --- history timing: churn and late start ---------------------------------------------------------
    churned = rng.random(n) < tp["churn_prob"].to_numpy()[tier]
    churn_t = np.where(churned, rng.integers(2, T, n), T)           # first month at 0 (T = never)
    is_new = (rng.random(n) < tp["new_prob"].to_numpy()[tier]) & ~churned
    start_t = np.where(is_new, rng.integers(1, T - 3, n), 0)          # first month with a row

    # --- names ---------------------------------------------------------------------------------------
    size_class = np.searchsorted([10, 250, 2000], employees, side="right")
    legal_generic = _choice_cdf(rng, np.cumsum(_LEGAL_BY_SIZE, axis=1), size_class)
    areas = list(_LEGAL_SPELLING)
    area_of_city = np.array([areas.index((c, lg)) for c, lg in zip(CITIES["country"], CITIES["lang"])])
    spellings = np.asarray(list(_LEGAL_SPELLING.values()), dtype=_STR)   # (area, generic form)
    legal = spellings[area_of_city[city], legal_generic]
    core = _company_cores(rng, countries[country], industry, CITIES["city"].to_numpy()[city])

    # --- families ------------------------------------------------------------------------------------
    parent = np.full(n, -1)
    n_parents = int(round(0.012 * n))
    if n_parents and n >= 20:
        # Weighted sampling without replacement (Efraimidis–Spirakis keys u^(1/w)): the largest keys win.
        w = tp["family_weight"].to_numpy()[tier]
        keys = np.log(rng.random(n)) / w
        parents = np.sort(np.argpartition(-keys, n_parents - 1)[:n_parents])
        kids_per = np.minimum(1 + rng.poisson(2.0, n_parents), 8)
        is_parent = np.zeros(n, bool)
        is_parent[parents] = True
        pool = np.flatnonzero(~is_parent)
        kids = pool[rng.permutation(len(pool))[: min(int(kids_per.sum()), len(pool))]]
        parent[kids] = np.repeat(parents, kids_per)[: len(kids)]
        # A subsidiary's name extends its parent's; one abroad is named after its country.
        sub_word = np.asarray(_SUBSIDIARY_WORD, dtype=_STR)[rng.integers(0, len(_SUBSIDIARY_WORD), len(kids))]
        kid_country, par_country = countries[country[kids]], countries[country[parent[kids]]]
        foreign = kid_country != par_country
        for code, word in (("AT", "Austria"), ("CH", "Schweiz"), ("DE", "Deutschland")):
            sub_word[foreign & (kid_country == code)] = word
        core[kids] = _cat(core[parent[kids]], " ", sub_word)
        # Subsidiaries mostly work in their parent's industry (and share its seasonal peak).
        same = kids[rng.random(len(kids)) < 0.8]
        industry[same] = industry[parent[same]]
        peak[same] = (industry_peak[industry[same]] - 1 + peak_shift[same]) % 12 + 1
    name = _cat(core, " ", legal)

    # --- managers and current owners ------------------------------------------------------------------
    routing = tp[["role_kam", "role_am", "role_is"]].to_numpy()
    role_of_account = _choice_cdf(rng, np.cumsum(routing, axis=1), tier)
    managers, mgr_role, mgr_region, mgr_country = _managers(rng, n_managers, role_of_account, need, regions,
                                                            acc_region, country, countries)
    pull = np.exp(rng.normal(0, 0.45, n_managers))
    local = rng.random(n) < 0.85
    r_count = len(regions) + 1
    owner, found = _pick_weighted(rng, role_of_account * r_count + acc_region, mgr_role * r_count + mgr_region, pull)
    owner_c, found_c = _pick_weighted(rng, role_of_account * 10 + country, mgr_role * 10 + mgr_country, pull)
    owner_r, found_r = _pick_weighted(rng, role_of_account, mgr_role, pull)
    owner_any, _ = _pick_weighted(rng, np.zeros(n, np.int64), np.zeros(n_managers, np.int64), pull)
    owner = np.where(found & local, owner, np.where(found_c, owner_c, np.where(found_r, owner_r, owner_any)))
    kid = parent >= 0
    keep_family = kid & (rng.random(n) < 0.7)
    owner = np.where(keep_family, owner[np.maximum(parent, 0)], owner)
    unowned = (rng.random(n) < 0.01) | (is_new & (rng.random(n) < 0.1))

    # --- monthly revenue (cents) --------------------------------------------------------------------------
    periods = pd.period_range(end=last, periods=T, freq="M")
    moy = periods.month.to_numpy()
    t = np.arange(T)
    # level · trend · noise in log space (one exp over the n × T matrix), then the seasonal factor
    log_month = rng.standard_normal((n, T))
    log_month *= noise_sd[:, None]
    log_month += np.log(base_revenue / 12)[:, None] + np.log1p(growth)[:, None] * ((t - (T - 1)) / 12)[None, :]
    monthly = np.exp(log_month, out=log_month)
    monthly *= 1 + amp[:, None] * np.cos(2 * np.pi * (moy[None, :] - peak[:, None]) / 12)
    # Lumpy orders: only tiers with a gap probability draw the n × T gap matrix.
    lumpy = np.flatnonzero(tp["gap_prob"].to_numpy()[tier] > 0)
    block = monthly[lumpy]
    block[rng.random((len(lumpy), T)) < tp["gap_prob"].to_numpy()[tier[lumpy]][:, None]] = 0.0
    monthly[lumpy] = block
    gone = np.flatnonzero(churn_t < T)
    block = monthly[gone]
    block[t[None, :] >= churn_t[gone][:, None]] = 0.0
    monthly[gone] = block
    has_row = t[None, :] >= start_t[:, None]

    truth_extra = {"duplicate_of": np.full(n, -1), "dirt": np.full(n, "", dtype=object)}
    country_txt = countries[country].astype(object)
    if dirty:
        rows = {"tier": tier, "country": country, "city": city, "postcode": postcode, "acc_region": acc_region,
                "industry": industry, "employees": employees, "base_revenue": base_revenue, "growth": growth,
                "amp": amp, "peak": peak, "noise_sd": noise_sd, "need": need, "pot_mult": pot_mult,
                "churn_t": churn_t, "start_t": start_t, "name": name, "parent": parent, "owner": owner,
                "unowned": unowned, "monthly": monthly, "has_row": has_row}
        rows, truth_extra = _add_dirt(rng, rows, countries)
        (tier, country, city, postcode, acc_region, industry, employees, base_revenue, growth, amp, peak,
         noise_sd, need, pot_mult, churn_t, start_t, name, parent, owner, unowned, monthly, has_row) = rows.values()
        n = len(tier)
        country_txt = truth_extra.pop("country_txt")

    cents = np.round(monthly * 100).astype(np.int64)
    cents[~has_row] = 0
    revenue_12m = cents[:, -12:].sum(axis=1) / 100
    potential = np.round(np.maximum(revenue_12m, base_revenue) * pot_mult, -2)

    # --- ids, in a shuffled order when dirty so planted duplicates are not simply the last rows ------------
    id_no = rng.permutation(n) + 1 if dirty else np.arange(1, n + 1)
    width = max(6, len(str(n)))
    account_id = _ids("A", id_no, width)
    mgr_id = managers["manager_id"].to_numpy()
    sort = np.argsort(id_no, kind="stable")

    account_id = account_id.astype(object)  # pandas holds text as Python strings; convert once
    accounts = _frame({
        "account_id": account_id,
        "name": name.astype(object),
        "parent_id": np.where(parent >= 0, account_id[np.maximum(parent, 0)], None),
        "country": country_txt,
        "region": regions[acc_region],
        "city": CITIES["city"].to_numpy()[city],
        "postcode": postcode.astype(object),
        "industry": np.array([i[0] for i in _INDUSTRIES], dtype=object)[industry],
        "employees": employees,
        "revenue_12m": revenue_12m,
        "potential": potential,
        "service_need": need,
        "owner_id": np.where(unowned, None, mgr_id[owner].astype(object)),
        "source_id": _salesforce_ids("001", id_no, salt=seed % 1_000_003).astype(object),
    })
    if dirty:
        accounts = _blank_and_break(rng, accounts, truth_extra)
    if dirty:
        accounts = accounts.iloc[sort].reset_index(drop=True)
    accounts = _canonical(accounts, "accounts")

    # history: long form, sorted by account then period; months before a late start have no row. Each
    # account's rows are one contiguous range, so row indices come from repeats rather than a mask scan.
    first_t = start_t[sort]
    n_rows = T - first_t
    rows_acc = np.repeat(np.arange(n), n_rows)
    rows_t = np.arange(len(rows_acc)) - np.repeat(np.cumsum(n_rows) - n_rows - first_t, n_rows)
    history = pd.DataFrame({
        "account_id": pd.Series(pd.arrays.ArrowStringArray(_repeat_text(account_id[sort], rows_acc))),
        "period": periods.to_timestamp().to_numpy()[rows_t],
        "revenue": cents.ravel()[sort[rows_acc] * T + rows_t] / 100,
    })

    period_txt = np.asarray(periods.strftime("%Y-%m-%d"), dtype=object)
    dup = truth_extra["duplicate_of"]
    truth = _frame({
        "account_id": account_id,
        "true_tier": np.asarray(TIERS, dtype=object)[tier],
        "base_revenue": np.round(base_revenue, 2),
        "growth_rate": np.round(growth, 4),
        "season_amplitude": np.round(amp, 4),
        "season_peak_month": peak.astype(np.int64),
        "noise_sd": noise_sd,
        "start_period": np.where(start_t > 0, period_txt[np.minimum(start_t, T - 1)], None),
        "churn_period": np.where(churn_t < T, period_txt[np.minimum(churn_t, T - 1)], None),
        "duplicate_of": np.where(dup >= 0, account_id[np.maximum(dup, 0)], None),
        "dirt": truth_extra["dirt"],
    })
    if dirty:
        truth = truth.iloc[sort].reset_index(drop=True)
    truth["dirt"] = truth["dirt"].mask(truth["dirt"] == "", pd.NA)
    return SampleData(accounts=accounts, managers=managers, history=history, truth=truth, params=params)


def _repeat_text(values: np.ndarray, index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array, built from bytes when all values have the same length.

    Ids like "A000123" are fixed width, so tens of millions of repeated ids are one byte copy plus an offsets
    range instead of as many string objects.
    """
    encoded = np.asarray(values, dtype=object).astype(bytes)
    width = encoded.dtype.itemsize
    lengths = np.strings.str_len(encoded)
    if len(encoded) == 0 or (lengths != width).any():
        return pa.array(np.asarray(values, dtype=object)[index], type=pa.string())
    data = encoded.view(np.uint8).reshape(len(encoded), width)[index]
    total = len(index) * width
    kind, off_type = (pa.string(), np.int32) if total < 2**31 else (pa.large_string(), np.int64)
    offsets = np.arange(0, total + 1, width, dtype=off_type)
    return pa.Array.from_buffers(kind, len(index), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A frame whose text columns are pandas ``string`` arrays from the start.

    Building them directly skips pandas' consolidation of object columns into one 2-D block (seconds at 1 M
    rows) and the later conversion to ``string``.
    """
    out = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype == _STR:
            values = values.astype(object)
        out[name] = pd.array(values, dtype="string") if values.dtype == object else values
    return pd.DataFrame(out)


def _canonical(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Give the canonical columns their canonical pandas dtypes (strings as ``string``, integers ``Int64``)."""
    out = df.copy()
    for c in schema.columns(table):
        if c.name not in out:
            continue
        if c.kind in ("id", "str"):
            if not isinstance(out[c.name].dtype, pd.StringDtype):
                out[c.name] = out[c.name].astype("string")
        elif c.kind == "int":
            out[c.name] = out[c.name].astype("Int64")
        elif c.kind == "float":
            out[c.name] = out[c.name].astype("float64")
    return out


def _company_cores(rng: np.random.Generator, country: np.ndarray, industry: np.ndarray,
                   city: np.ndarray) -> np.ndarray:
    """Company names without legal form, from vectorised choices of surname, brand, industry word and city.

    All choices are drawn as indices for every account; strings are only built for the rows of the name
    pattern that uses them.
    """
    n = len(country)
    surnames, offsets, counts = [], {}, {}
    for c, names in _SURNAMES.items():
        offsets[c], counts[c] = len(surnames), len(names)
        surnames += names
    sn = np.asarray(surnames, dtype=_STR)
    off = pd.Series(country).map(offsets).to_numpy(np.int64)
    cnt = pd.Series(country).map(counts).to_numpy(np.int64)
    i1 = off + (rng.random(n) * cnt).astype(np.int64)
    i2 = off + (rng.random(n) * cnt).astype(np.int64)
    words, w_off, w_cnt = [], [], []
    for _, _, _, ws in _INDUSTRIES:
        w_off.append(len(words))
        w_cnt.append(len(ws))
        words += ws
    iw = np.asarray(w_off)[industry] + (rng.random(n) * np.asarray(w_cnt)[industry]).astype(np.int64)
    ip = rng.integers(0, len(_BRAND_PREFIX), n)
    ist = rng.integers(0, len(_BRAND_STEM), n)
    pattern = rng.choice(6, size=n, p=[0.38, 0.15, 0.20, 0.10, 0.10, 0.07])
    word_s, prefix_s, stem_s = (np.asarray(x, dtype=_STR) for x in (words, _BRAND_PREFIX, _BRAND_STEM))
    builders = [
        lambda m: _cat(sn[i1[m]], " ", word_s[iw[m]]),                           # Hoffmann Maschinenbau
        lambda m: _cat(sn[i1[m]], " & ", sn[i2[m]]),                              # Becker & Schäfer
        lambda m: _cat(prefix_s[ip[m]], stem_s[ist[m]], " ", word_s[iw[m]]),     # Rheintec Logistik
        lambda m: _cat(word_s[iw[m]], " ", sn[i1[m]]),                            # Spedition Wagner
        lambda m: _cat(sn[i1[m]], " ", word_s[iw[m]], " ", city[m].astype(_STR)),  # Müller Logistik Hamburg
        lambda m: _cat("Gebr. ", sn[i1[m]]),                                      # Gebr. Krämer
    ]
    out = np.empty(n, dtype=_STR)
    for k, build in enumerate(builders):  # six name patterns
        m = pattern == k
        out[m] = build(m)
    return out


def _apportion(total: int, weights: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """Split ``total`` whole units over ``weights`` by largest remainder (``jitter`` breaks ties)."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), int)
    quota = total * weights / weights.sum()
    counts = np.floor(quota).astype(int)
    rest = total - counts.sum()
    counts[np.argsort(-(quota - counts + jitter * 1e-9), kind="stable")[:rest]] += 1
    return counts


def _managers(rng: np.random.Generator, m: int, role_of_account: np.ndarray, need: np.ndarray,
              regions: np.ndarray, acc_region: np.ndarray, country: np.ndarray,
              countries: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Managers sized to the work routed to each role, placed in the regions where that role's hours are."""
    role_need = np.bincount(role_of_account, weights=need, minlength=len(ROLES))
    counts = _apportion(m, role_need, rng.random(len(ROLES)))
    if m >= len(ROLES):  # every role exists, taken from the largest
        for r in np.flatnonzero(counts == 0):
            counts[np.argmax(counts)] -= 1
            counts[r] = 1
    role = np.repeat(np.arange(len(ROLES)), counts)
    # A manager sits where the work is: each role's managers go to regions by largest remainder of its hours.
    # (a role with no hours at all, e.g. in a tiny book, still sits where the book's work is)
    all_hours = np.bincount(acc_region, weights=need, minlength=len(regions))
    region = np.concatenate([
        np.repeat(np.arange(len(regions)), _apportion(
            counts[r], np.bincount(acc_region[role_of_account == r], weights=need[role_of_account == r],
                                   minlength=len(regions)) + 1e-9 * all_hours, rng.random(len(regions))))
        for r in range(len(ROLES))]).astype(np.int64)
    region_country = CITIES.groupby("region")["country"].first().reindex(regions).to_numpy()
    mgr_country = (
        pd.Series(region_country[region]).map({c: i for i, c in enumerate(countries)}).to_numpy(np.int64))
    city_lang = CITIES.groupby("region")["lang"].first().reindex(regions).to_numpy()
    lang = city_lang[region]
    first = np.where(lang == "fr", np.asarray(_FIRST_NAMES["fr"], dtype=object)[rng.integers(0, len(_FIRST_NAMES["fr"]), m)],
                     np.where(lang == "it", np.asarray(_FIRST_NAMES["it"], dtype=object)[rng.integers(0, len(_FIRST_NAMES["it"]), m)],
                              np.asarray(_FIRST_NAMES["de"], dtype=object)[rng.integers(0, len(_FIRST_NAMES["de"]), m)]))
    all_surnames = np.asarray(sum(_SURNAMES.values(), []), dtype=object)
    last = all_surnames[rng.integers(0, len(all_surnames), m)]
    extra_fr = rng.random(m) < 0.12
    languages = np.where(lang == "fr", "fr;de;en", np.where(lang == "it", "it;de;en",
                                                           np.where(extra_fr, "de;en;fr", "de;en")))
    cap_lo = np.array([1300, 1400, 1450])[role]
    cap_hi = np.array([1500, 1600, 1600])[role]
    capacity = np.round(rng.uniform(cap_lo, cap_hi) / 10) * 10
    cost_mid = np.array([170_000, 115_000, 75_000])[role]
    cost = np.round(cost_mid * rng.uniform(0.88, 1.12, m), -2)
    numbers = np.arange(1, m + 1)
    managers = pd.DataFrame({
        "manager_id": _ids("M", numbers, max(3, len(str(m)))).astype(object),
        "name": _cat(first.astype(_STR), " ", last.astype(_STR)),
        "role": np.asarray(ROLES, dtype=object)[role],
        "region": regions[region],
        "languages": languages,
        "capacity_hours": capacity,
        "cost": cost,
        "source_id": _salesforce_ids("005", numbers, salt=7_919),
    })
    return _canonical(managers, "managers"), role, region, mgr_country


def _mutate_names(rng: np.random.Generator, names: pd.Series) -> pd.Series:
    """Near-duplicate spellings of company names as a CRM accumulates them (one mutation per name)."""
    kind = rng.integers(0, 5, len(names))
    out = names.copy()
    legal = names.copy()
    changed = np.zeros(len(names), bool)
    for pattern, repl in _LEGAL_VARIANTS:  # first matching legal form wins
        new = names.str.replace(pattern, repl, regex=True)
        hit = (new != names).to_numpy() & ~changed
        legal[hit] = new[hit]
        changed |= hit
    translit = names.str.replace("ä", "ae").str.replace("ö", "oe").str.replace("ü", "ue").str.replace("ß", "ss")
    translit = translit.str.replace("Ä", "Ae").str.replace("Ö", "Oe").str.replace("Ü", "Ue")
    swapped = names.str.replace(r"^(\S+) & (\S+)", r"\2 & \1", regex=True)
    swapped = swapped.where(swapped != names, names.str.replace(r"^(\S+) (\S+)", r"\2 \1", regex=True))
    a = names.to_numpy(dtype=_STR)
    length = np.strings.str_len(a)
    p = 1 + (rng.random(len(a)) * np.maximum(length - 4, 1)).astype(np.int64)
    typo = _cat(np.strings.slice(a, 0, p), np.strings.slice(a, p + 1, p + 2), np.strings.slice(a, p, p + 1),
                np.strings.slice(a, p + 2, length))
    typo = pd.Series(typo.astype(object), index=names.index)
    out = out.where(kind != 0, legal)
    out = out.where(kind != 1, translit)
    out = out.where(kind != 2, typo)
    out = out.where(kind != 3, swapped)
    out = out.where(kind != 4, names.str.upper())
    # A mutation that changed nothing (no umlaut, unknown legal form) falls back to a typo.
    return out.where(out != names, typo)


def _add_dirt(rng: np.random.Generator, rows: dict[str, np.ndarray],
              countries: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """Append 2 % near-duplicate accounts that split their original's revenue (the original keeps 1 − f).

    ``rows`` maps names to per-account arrays (first axis = account, ``monthly``/``has_row`` are n × T); the
    returned dict has the same keys in the same order with the duplicates appended. The second value holds
    ``duplicate_of`` (index of the original, −1), ``dirt`` tags and the written country text.
    """
    n = len(rows["tier"])
    n_dup = max(1, int(round(0.02 * n)))
    src = np.sort(rng.choice(n, size=n_dup, replace=False))
    idx = np.concatenate([np.arange(n), src])
    f = rng.uniform(0.05, 0.35, n_dup)
    out = {key: value[idx] for key, value in rows.items()}
    monthly = out["monthly"]
    monthly[n:] = rows["monthly"][src] * f[:, None]
    monthly[src] *= (1 - f)[:, None]
    out["name"][n:] = _mutate_names(rng, pd.Series(rows["name"][src].astype(object))).to_numpy(dtype=_STR)
    out["parent"][n:] = -1  # the second record of a company is rarely linked to the group
    owner = rows["owner"]
    out["owner"][n:] = np.where(rng.random(n_dup) < 0.5, owner[rng.integers(0, n, n_dup)], owner[src])
    out["unowned"][n:] |= rng.random(n_dup) < 0.2
    duplicate_of = np.concatenate([np.full(n, -1), src])
    country_txt = countries[out["country"]].astype(object)
    written = rng.random(n + n_dup) < 0.02
    country_txt = np.where(written, pd.Series(country_txt).map(_COUNTRY_WRITTEN).to_numpy(), country_txt)
    dirt = np.where(written, "country_written_out;", "").astype(object)
    dirt = np.where(duplicate_of >= 0, dirt + "near_duplicate;", dirt)
    return out, {"duplicate_of": duplicate_of, "dirt": dirt, "country_txt": country_txt}


def _blank_and_break(rng: np.random.Generator, accounts: pd.DataFrame, truth_extra: dict) -> pd.DataFrame:
    """Blank some values and plant a few impossible ones; every defect is tagged in ``truth_extra['dirt']``."""
    n = len(accounts)
    a = accounts.copy()
    a["employees"] = a["employees"].astype("Int64")
    dirt = truth_extra["dirt"]

    def pick(share: float) -> np.ndarray:
        m = np.zeros(n, bool)
        m[rng.choice(n, size=max(1, int(round(share * n))), replace=False)] = True
        return m

    for column, share in (("industry", 0.03), ("employees", 0.05), ("postcode", 0.02), ("potential", 0.03),
                          ("owner_id", 0.02), ("city", 0.01)):
        m = pick(share)
        a.loc[m, column] = None if a[column].dtype == object else pd.NA
        dirt = np.where(m, dirt + f"missing_{column};", dirt)
    m = pick(0.002)
    a.loc[m, "revenue_12m"] = -(a.loc[m, "revenue_12m"].abs() + 100.0)
    dirt = np.where(m, dirt + "negative_revenue;", dirt)
    m = pick(0.003)
    a.loc[m, "employees"] = -1
    dirt = np.where(m, dirt + "employees_minus_one;", dirt)
    m = pick(0.003) & a["postcode"].notna().to_numpy()
    pcode = a.loc[m, "postcode"].astype(str)
    # Spreadsheets drop the leading zero of Saxon postcodes (01067 → 1067); other codes lose a digit.
    a.loc[m, "postcode"] = np.where(pcode.str.startswith("0"), pcode.str[1:], pcode.str[:-1])
    dirt = np.where(m, dirt + "postcode_wrong_length;", dirt)
    truth_extra["dirt"] = pd.Series(dirt).str.rstrip(";").to_numpy(dtype=object)
    return a
