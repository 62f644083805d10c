"""The "Verified" section of the HTML report: what conda's solver says about the plan (newarch verify)."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

_TEMPLATE = """
<p>{{ summary }}</p>
<table class="verified">
<thead><tr><th>target</th><th>python</th><th>result</th></tr></thead>
<tbody>
{% for t in targets %}<tr><td>{{ t.target }}</td><td>{{ t.python or "-" }}</td>
<td>{% if t.result.solvable %}solvable ({{ t.result.solution|length }} packages){% else %}not solvable: {{ t.result.failing|join(", ") }}{% for c in t.result.chains[:1] %} (via {{ c|join(" → ") }}){% endfor %}{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% if failing %}<h3>Failing specs</h3>
<table class="verified"><thead><tr><th>spec</th><th>fails</th><th>kind</th><th>why</th></tr></thead><tbody>
{% for spec, n, kind, why in failing %}<tr><td><code>{{ spec }}</code></td><td>{{ n }}</td><td>{{ kind }}</td><td>{{ why }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% if unneeded %}<h3>Not needed by the solver</h3><ul>
{% for u in unneeded %}<li><b>{{ u.build }}</b>: {{ u.reason }}{% if u.kept_because %} — kept by the graph walk for {{ u.kept_because }}{% endif %}</li>
{% endfor %}</ul>{% endif %}
"""


def verified_section_html(v: Any, summary: str) -> Markup:
    """The section body; every value is autoescaped (recipe-derived strings included)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(_TEMPLATE).render(
        summary=summary, targets=v.targets, failing=v.failing_specs(), unneeded=v.unneeded or []
    )
    return Markup(html)
