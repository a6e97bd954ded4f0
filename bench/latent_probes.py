"""JavaScript that the Latent Explorer benchmarks (click_latency, load_test) put into the page.

Kept in one place so both time a click the same way: from the mouse-down to the frame after
the detail panel's first image changed and loaded.
"""

from __future__ import annotations

DETAIL = ".st-key-latent_detail"


def panel_image_probe_js(state: str) -> str:
    """A probe keeping {t0, t1, src, selected} in window[`state`].

    t0: the newest mouse-down; selected: Plotly's selection event after it; t1: the frame after
    the panel's first image changed and loaded. The panel's picture before any click (the
    plane's centre, decoded) is the starting `src`, so it does not count as an answer.
    """
    return """() => {
    const first = document.querySelector('DETAIL img');
    const state = window.STATE = {t0: null, t1: null, src: first ? first.src : null,
                                  selected: null};
    window.addEventListener("mousedown", () => {
        state.t0 = performance.now(); state.t1 = null; state.selected = null;
    }, true);
    document.querySelector(".js-plotly-plot").on("plotly_selected",
                                                 () => { state.selected = performance.now(); });
    const check = () => {
        const img = document.querySelector('DETAIL img');
        if (!img || state.t0 === null || state.t1 !== null || img.src === state.src) return;
        const src = img.src;
        const done = () => requestAnimationFrame(() => {
            if (state.t1 !== null || img.src !== src) return;
            state.t1 = performance.now();
            state.src = src;
        });
        if (img.complete && img.naturalWidth > 0) done();
        else img.addEventListener("load", done, {once: true});
    };
    new MutationObserver(check).observe(document.body,
        {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}""".replace("DETAIL", DETAIL).replace("STATE", state)


# Screen positions (from Plotly's own axes) of a place in the plane at fractions (fx, fy) and of
# a test digit picked by `pick` in [0, 1), retried until nothing covers them: the legend and the
# (transparent) mode bar lie over the plot, and a click there toggles a class or a tool instead
# of selecting a point. Returns {plane: [x, y], digit: [x, y]} in page pixels.
TARGETS_JS = """([fx, fy, pick]) => {
    const gd = document.querySelector('.js-plotly-plot');
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    const px = (x, y) => [box.left + L.xaxis._offset + L.xaxis.l2p(x),
                          box.top + L.yaxis._offset + L.yaxis.l2p(y)];
    const free = ([x, y]) => {
        const el = document.elementFromPoint(x, y);
        return el !== null && gd.contains(el) && !el.closest('.legend, .modebar-container');
    };
    const [x0, x1] = L.xaxis.range, [y0, y1] = L.yaxis.range;
    const digits = gd._fullData.filter(t => t.customdata && t.visible === true);
    let plane = null, digit = null;
    for (let i = 0; i < 200 && (plane === null || digit === null); i++) {
        const u = (fx + 0.618 * i) % 1, v = (fy + 0.382 * i) % 1;
        const p = px(x0 + (0.05 + 0.9 * u) * (x1 - x0), y0 + (0.05 + 0.9 * v) * (y1 - y0));
        if (plane === null && free(p)) plane = p;
        const trace = digits[Math.floor((pick + 0.1 * i) * digits.length) % digits.length];
        const k = Math.floor((pick + 0.1 * i) * 7919) % trace.x.length;
        const d = px(trace.x[k], trace.y[k]);
        if (digit === null && free(d)) digit = d;
    }
    return {plane, digit};
}"""
