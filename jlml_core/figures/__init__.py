"""Layer 4: pictures. Every Plotly figure, SVG and PNG the lab draws, as pure functions of arrays
(no model calls, no Streamlit), so each is testable on its own."""
