"""Benchmark duplicate detection: time, precision and recall on N company names with planted duplicates.

The labelled set is generated here (seeded): distinct German/Austrian/Swiss company names (surname,
trade word, optional region word, legal form) with their postcode and city; no two distinct companies with
the same name words in one city (§30 HGB: a firm name must differ clearly from the others at the same place;
legal form and word order do not count), namesakes in other cities, and confusable near-namesakes in the
same city (Meyer/Meier, Schmidt/Schmitt). 5 % of the companies get a duplicate record: a typo
(swap, drop, double or replace a letter, or a moved space), a legal-form variant (GmbH / G.m.b.H. /
Gesellschaft mit beschränkter Haftung, AG / Aktiengesellschaft, form dropped), a transliteration
(ä/ae, ß/ss), swapped word order, upper case, or two of these; 85 % keep the postcode, 10 % lose it,
5 % carry another postcode of the same city. Run: ``.venv/bin/python bench/dedupe.py --accounts 100000``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

SURNAMES = ("Müller Schmidt Schneider Fischer Weber Meyer Meier Maier Mayer Wagner Becker Schulz Schulze Hoffmann "
            "Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann "
            "Hartmann Lange Schmitt Schmid Werner Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
            "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich "
            "Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig "
            "Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt "
            "Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt "
            "Sauer Arnold Wolff Pfeiffer Gruber Pichler Moser Hofer Leitner Egger Steiner Brunner Gasser Ammann "
            "Baumgartner Frei Meili Suter Bachmann Bühler Gerber Kälin Bösch Wyss Widmer Zürcher Nägeli Straub "
            "Thyssen Reuter Hoppe Lindner Ebert Kaufmann Kern Ott Hesse Marx Kolb Sander Fiedler Beyer Wendt").split()
TRADES = ("Maschinenbau Logistik Spedition Elektrotechnik Elektronik Anlagenbau Metallbau Bau Bauunternehmung "
          "Baustoffe Holzbau Dachdeckerei Druckerei Verlag Medien Software Systemhaus Informatik Datentechnik "
          "Steuerberatung Consulting Immobilien Versicherungsmakler Autohaus Fahrzeugtechnik Landtechnik "
          "Lebensmittel Feinkost Bäckerei Getränke Brauerei Pharma Medizintechnik Diagnostik Labortechnik "
          "Chemie Kunststofftechnik Klebstoffe Textil Mode Möbel Küchenbau Sanitär Heizungsbau Wärmetechnik "
          "Solartechnik Energietechnik Umwelttechnik Recycling Entsorgung Reinigung Sicherheitstechnik "
          "Feinmechanik Werkzeugbau Präzisionsteile Antriebstechnik Fördertechnik Verpackung Papier Glas "
          "Optik Handel Großhandel Vertrieb Handelsgesellschaft Service Personalservice Messebau Reisen").split()
PLACES = ("Nord Süd Ost West Rhein Main Elbe Weser Donau Isar Neckar Ruhr Saar Allgäu Eifel Harz Baden "
          "Franken Schwaben Sachsen Thüringen Hessen Westfalen Tirol Steiermark Zürich Bern Basel").split()
LEGAL = np.array(["GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "SE", "OHG", "GmbH"])
CITIES = ("Berlin Hamburg München Köln Frankfurt Stuttgart Düsseldorf Leipzig Dortmund Essen Bremen Dresden "
          "Hannover Nürnberg Duisburg Bochum Wuppertal Bielefeld Bonn Münster Mannheim Karlsruhe Augsburg "
          "Wiesbaden Mönchengladbach Gelsenkirchen Aachen Braunschweig Kiel Chemnitz Halle Magdeburg Freiburg "
          "Krefeld Mainz Lübeck Erfurt Oberhausen Rostock Kassel Hagen Potsdam Saarbrücken Hamm Ludwigshafen "
          "Oldenburg Mülheim Osnabrück Leverkusen Heidelberg Darmstadt Solingen Regensburg Herne Paderborn "
          "Neuss Ingolstadt Offenbach Fürth Würzburg Ulm Heilbronn Pforzheim Wolfsburg Göttingen Bottrop "
          "Reutlingen Koblenz Bremerhaven Recklinghausen Bergisch-Gladbach Erlangen Jena Remscheid Trier "
          "Salzgitter Moers Siegen Hildesheim Cottbus Wien Graz Linz Salzburg Innsbruck Zürich Genf Basel "
          "Bern Lausanne Winterthur Luzern St.Gallen").split()


def _companies(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """n distinct companies: (normalised name, postcode) unique; namesakes only in other postcodes."""
    m = int(n * 1.3)
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), m)]
    sur2 = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), m)]
    trade = np.array(TRADES)[rng.integers(0, len(TRADES), m)]
    place = np.array(PLACES)[rng.integers(0, len(PLACES), m)]
    legal = LEGAL[rng.integers(0, len(LEGAL), m)]
    form = rng.integers(0, 5, m)
    base = np.select(
        [form == 0, form == 1, form == 2, form == 3],
        [np.char.add(np.char.add(sur, " "), trade),
         np.char.add(np.char.add(trade, " "), sur),
         np.char.add(np.char.add(np.char.add(np.char.add(sur, " & "), sur2), " "), trade),
         np.char.add(np.char.add(np.char.add(np.char.add(sur, " "), trade), " "), place)],
        np.char.add(np.char.add(np.char.add(np.char.add(place, " "), trade), " "), sur))
    name = np.char.add(np.char.add(base, " "), legal)
    city_i = rng.integers(0, len(CITIES), m)
    postcode = np.char.zfill((1000 + city_i * 900 + rng.integers(0, 40, m)).astype(str), 5)
    df = pd.DataFrame({"name": name.astype(object), "city": np.array(CITIES)[city_i].astype(object),
                       "postcode": postcode.astype(object), "country": "DE"})
    from workbench.harmonize import normalise_names

    # §30 HGB: a new firm name must differ clearly from every firm at the same place; the legal form and the
    # word order do not make a difference, so (sorted name words, city) is unique among distinct companies
    words = normalise_names(df["name"]).str.split(" ").map(sorted).str.join(" ")
    df = df[~(words + "|" + df["city"]).duplicated()].head(n).reset_index(drop=True)
    df.insert(0, "account_id", [f"C{i:07d}" for i in range(len(df))])
    return df


_UMLAUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
_LEGAL_VARIANTS = {"GmbH": ["G.m.b.H.", "Gesellschaft mit beschränkter Haftung", "GMBH", ""],
                   "AG": ["Aktiengesellschaft", "A.G.", ""], "KG": ["Kommanditgesellschaft", ""],
                   "SE": [""], "OHG": [""], "e.K.": ["eK", ""]}


def _mutate(rng: np.random.Generator, name: str, kind: int) -> str:
    """One planted variant of a company name (called for the 5 % duplicates only)."""
    if kind == 0:  # typo: swap, drop, double, replace, or a moved space
        p = int(rng.integers(1, max(2, len(name) - 6)))
        op = int(rng.integers(0, 5))
        if op == 0:
            return name[:p] + name[p + 1] + name[p] + name[p + 2:]
        if op == 1:
            return name[:p] + name[p + 1:]
        if op == 2:
            return name[:p] + name[p] + name[p:]
        if op == 3:
            return name[:p] + "aeiounrst"[int(rng.integers(0, 9))] + name[p + 1:]
        sp = name.find(" ", 2)
        return name[:sp - 1] + " " + name[sp - 1] + name[sp + 1:] if sp > 2 else name[:p] + name[p + 1:]
    if kind == 1:  # legal-form variant
        for form, variants in _LEGAL_VARIANTS.items():
            if name.endswith(" " + form):
                v = variants[int(rng.integers(0, len(variants)))]
                return (name[: -len(form)] + v).strip()
        return name + " GmbH"
    if kind == 2:  # transliteration
        out = "".join(_UMLAUT.get(c, c) for c in name)
        return out if out != name else name.replace("ss", "ß", 1) if "ss" in name else name.upper()
    if kind == 3:  # word order of the first two words
        w = name.split(" ")
        return " ".join([w[1], w[0], *w[2:]]) if len(w) > 2 else name.upper()
    return name.upper()


def labelled_set(n: int, seed: int = 0, dup_share: float = 0.05) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """n accounts (originals plus planted duplicates) and the set of true duplicate pairs."""
    rng = np.random.default_rng(seed)
    n_dup = int(round(n * dup_share))
    comp = _companies(rng, n - n_dup)
    src = np.sort(rng.choice(len(comp), n_dup, replace=False))
    dup = comp.iloc[src].copy().reset_index(drop=True)
    kinds = rng.integers(0, 5, n_dup)
    second = rng.random(n_dup) < 0.2
    names = []
    for nm, k, s2 in zip(dup["name"], kinds, second):
        v = _mutate(rng, nm, int(k))
        if s2:
            v = _mutate(rng, v, int((k + 1 + rng.integers(0, 4)) % 5))
        names.append(v)
    dup["name"] = names
    u = rng.random(n_dup)
    dup.loc[u < 0.10, "postcode"] = None
    moved = (u >= 0.10) & (u < 0.15)
    dup.loc[moved, "postcode"] = (dup.loc[moved, "postcode"].astype(int) + 1).astype(str).str.zfill(5)
    dup["account_id"] = [f"D{i:07d}" for i in range(n_dup)]
    truth = {tuple(sorted(p)) for p in zip(comp["account_id"].iloc[src], dup["account_id"])}
    acc = pd.concat([comp, dup], ignore_index=True)
    acc = acc.iloc[rng.permutation(len(acc))].reset_index(drop=True)
    return acc, truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=92.0)
    ap.add_argument("--source", choices=["generated", "sampledata"], default="generated",
                    help="labelled set: this script's generator (default) or the project's sample-data generator")
    args = ap.parse_args()
    from workbench.harmonize import DuplicateFinder, merge_duplicates

    if args.source == "sampledata":
        from workbench.sampledata import generate

        data = generate(n_accounts=int(args.accounts / 1.02), n_managers=max(20, args.accounts // 500), n_months=12,
                        seed=args.seed, dirty=True)
        acc = data.accounts
        t = data.truth[data.truth["duplicate_of"].notna()]
        truth = {tuple(sorted(p)) for p in zip(t["account_id"], t["duplicate_of"])}
        print("labelled set: workbench.sampledata.generate(dirty=True) (truth.duplicate_of)")
    else:
        acc, truth = labelled_set(args.accounts, args.seed)
        acc["revenue_12m"] = 1.0
    DuplicateFinder(threshold=args.threshold).fit(acc.head(2000))  # warm up imports and regex caches
    t0, c0 = time.perf_counter(), time.process_time()
    finder = DuplicateFinder(threshold=args.threshold).fit(acc)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    cand = finder.candidates_
    found = {tuple(sorted(p)) for p in zip(cand["left_id"], cand["right_id"])}
    tp = len(found & truth)
    precision = tp / max(len(found), 1)
    recall = tp / max(len(truth), 1)
    print(f"{len(acc):,} accounts, {len(truth):,} planted duplicates; {finder.n_compared_:,} pairs scored "
          f"(all pairs would be {len(acc) * (len(acc) - 1) // 2:,})")
    print(f"threshold {args.threshold:g}: {len(found):,} candidates, precision {precision:.4f}, recall {recall:.4f}, "
          f"{seconds:.2f} s wall, {cpu:.2f} s CPU")
    for thr in (85.0, 88.0, 90.0, 95.0):
        sub = cand[cand["score"] >= thr] if thr >= args.threshold else None
        if sub is None:
            sub = DuplicateFinder(threshold=thr).fit(acc).candidates_
        f = {tuple(sorted(p)) for p in zip(sub["left_id"], sub["right_id"])}
        t = len(f & truth)
        print(f"  threshold {thr:g}: precision {t / max(len(f), 1):.4f}, recall {t / len(truth):.4f}")
    t1 = time.perf_counter()
    merged = merge_duplicates(acc, cand)
    merge_s = time.perf_counter() - t1
    print(f"merge of all candidates: {merged.merged_groups:,} groups, {len(acc) - len(merged.accounts):,} records "
          f"folded in {merge_s:.2f} s")
    print(json.dumps({"stage": "dedupe", "source": args.source, "accounts": len(acc), "seconds": round(seconds, 3),
                      "cpu_seconds": round(cpu, 3), "pairs_scored": int(finder.n_compared_), "candidates": len(found),
                      "precision": round(precision, 4), "recall": round(recall, 4),
                      "threshold": args.threshold, "merge_seconds": round(merge_s, 3)}))


if __name__ == "__main__":
    main()
