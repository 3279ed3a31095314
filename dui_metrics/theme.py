"""App-wide CSS: what Streamlit's own parameters cannot say about layout and words.

Owns one constant style sheet, `STYLE`, that app.py injects once per script run
(``st.html(theme.STYLE)``: this module needs no Streamlit, ui.py stays the only one). It holds
no text from any input: only selectors of Streamlit's test ids and fixed French words.
What it does, and why each rule is CSS:

- card labels (`st.metric`) wrap onto a second line instead of ending in « … »: Streamlit
  clips them to one line and has no option for it;
- a text table (Markdown) wider than the page scrolls inside its own box;
- on a phone (≤ 640 px, where Streamlit stacks columns) nothing is wider than the screen:
  charts, tables and images keep to the width of the main area, code and long words wrap;
- the file uploader speaks French: Streamlit prints « Upload », « 500MB per file • CSV… » and
  each file's size as « 131.0B » with no parameter to change them; the button's word is
  replaced by a French one drawn by CSS, the instructions and sizes are hidden, and the Données
  page writes the limit and the formats itself (« 500 Mo par fichier »).

tests/test_browser.py checks the result in Chromium (no English, no overflow at 390 px, no
label cut at 1440 px): if a new Streamlit renames a test id, that test fails.
"""

from __future__ import annotations

UPLOAD_BUTTON = "Choisir des fichiers"

STYLE = f"""
<style>
/* Card labels wrap rather than being cut with an ellipsis. */
[data-testid="stMetricLabel"],
[data-testid="stMetricLabel"] * {{
  white-space: normal !important;
  overflow: visible !important;
  text-overflow: clip !important;
  overflow-wrap: anywhere;
}}

/* Text tables (ui.text_table, Markdown): a wide one scrolls sideways inside its own box,
   never the page (a phone). */
[data-testid="stMarkdownContainer"] table {{
  display: block;
  max-width: 100%;
  overflow-x: auto;
}}
/* Its cells wrap between words only (the phone rule below breaks anywhere: a cell would
   read one letter per line), compact, like a spreadsheet's rows. */
[data-testid="stMarkdownContainer"] th,
[data-testid="stMarkdownContainer"] td {{
  overflow-wrap: normal;
  word-break: normal;
  padding: 0.3rem 0.6rem;
  font-size: 0.875rem;
  line-height: 1.35;
  vertical-align: top;
}}

/* Phone: nothing wider than the screen. */
@media (max-width: 640px) {{
  [data-testid="stMainBlockContainer"] {{
    padding-left: 0.75rem;
    padding-right: 0.75rem;
    max-width: 100vw;
  }}
  [data-testid="stMainBlockContainer"] [data-testid="stPlotlyChart"],
  [data-testid="stMainBlockContainer"] [data-testid="stDataFrame"],
  [data-testid="stMainBlockContainer"] [data-testid="stTable"],
  [data-testid="stMainBlockContainer"] [data-testid="stImage"],
  [data-testid="stMainBlockContainer"] [data-testid="stVegaLiteChart"] {{
    max-width: 100%;
  }}
  [data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] {{
    overflow-wrap: anywhere;
  }}
  [data-testid="stMainBlockContainer"] code {{
    white-space: pre-wrap;
    word-break: break-all;
  }}
}}

/* File uploader in French: the button's word, no English instructions, no « 131.0B ». */
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"]
  [data-testid="stMarkdownContainer"] p {{
  display: none;
}}
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"]
  [data-testid="stMarkdownContainer"]::after {{
  content: "{UPLOAD_BUTTON}";
}}
[data-testid="stFileUploaderDropzoneInstructions"],
[data-testid="stFileChipName"] + div {{
  display: none;
}}
/* « add icon »: an English word hidden from the eye only, beside the « + » button that adds
   files (its aria-label already names it for a screen reader). */
[data-testid="stFileChips"] [data-testid="stBaseButton-borderlessIcon"] [data-has-shortcut]
  > span:not(:has([data-testid="stIconMaterial"])) {{
  display: none;
}}
</style>
"""
