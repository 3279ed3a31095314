"""What one Streamlit element costs a first visit, against an empty script in the same run.

Usage (from the repository root, after `pip install -e '.[test]'`; needs Debian's
/usr/bin/chromium, see .ci/run):

    .venv/bin/python bench/elements.py              # 5 rounds
    .venv/bin/python bench/elements.py --rounds 9

Each script below runs in its own `streamlit run` server; each round opens every script once
in a new browser context (an empty cache: a first visit), in alternating order, and the
median per script is printed with its difference to the empty script. Why the pages use
`ui.text_table` (Markdown) for tables of up to 50 rows, SVG sparklines on the cards
(`charts.sparkline_svg`) and draw Plotly figures only on request (README,
« Pages, first visit »). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import _first_visits as first_visits  # noqa: E402
import e2e_support as e2e  # noqa: E402

HEAD = (
    "import pandas as pd\nimport streamlit as st\n\nfrom dui_metrics import charts, ui\n\n"
    'st.title("vide")\n'
)
FRAME = 'pd.DataFrame({"a": ["x", "y", "z"] * 3, "b": range(9)})'
# A ranking's size: 40 ESMS × 12 columns of text.
WIDE = "pd.DataFrame({f'c{j}': [f'texte {i} de la colonne {j}' for i in range(40)] for j in range(12)})"
SCRIPTS = {
    "empty script": "",
    "st.dataframe": f"st.dataframe({FRAME}, hide_index=True)\n",
    "st.table": f"st.table({FRAME}, hide_index=True)\n",
    "text table (ui.text_table)": f"ui.text_table({FRAME})\n",
    "st.dataframe, 40 x 12": f"st.dataframe({WIDE}, hide_index=True)\n",
    "text table, 40 x 12": f"ui.text_table({WIDE})\n",
    "three metrics": (
        "for c, v in zip(st.columns(3), ['1 234', '234', '12']):\n    c.metric('INS', v, '+5')\n"
    ),
    "three metrics with sparklines": (
        "for c, v in zip(st.columns(3), ['1 234', '234', '12']):\n"
        "    c.metric('INS', v, '+5', chart_data=[1, 2, 3, 4, 5])\n"
    ),
    "three metrics with SVG sparklines": (
        "for c, v in zip(st.columns(3), ['1 234', '234', '12']):\n"
        "    card = c.container(border=True)\n"
        "    card.metric('INS', v, '+5')\n"
        "    card.html(charts.sparkline_html([1, 2, 3, 4, 5], 1))\n"
    ),
    "download button and page link": (
        'st.download_button("CSV", b"a;b", file_name="x.csv")\n'
        'st.page_link("https://example.org", label="lien")\n'
    ),
    "one Plotly figure": (
        "import plotly.graph_objects as go\n"
        "st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))\n"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="dui-elements-"))
    servers: dict[str, e2e.StreamlitServer] = {}
    try:
        for i, (name, body) in enumerate(SCRIPTS.items()):
            folder = work / f"s{i}"
            folder.mkdir()
            script = folder / "page.py"
            script.write_text(HEAD + body, encoding="utf-8")
            servers[name] = e2e.StreamlitServer(
                script, folder / "none.duckdb", cwd=folder, log=folder / "log"
            ).start()
        with sync_playwright() as p:
            browser = e2e.launch_chromium(p)
            urls = {name: server.url + "/" for name, server in servers.items()}
            times = first_visits.alternate(browser, urls, args.rounds)
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    first_visits.report(
        f"first visit, median of {args.rounds} (new browser context each), 2 CPU shared:",
        times,
        "empty script",
        "over the empty script",
    )


if __name__ == "__main__":
    main()
