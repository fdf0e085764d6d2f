from django import template

register = template.Library()


@register.filter
def percent(value, digits: int = 1):
    """0.0534 → "5.3 %"; "–" for no value."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.{int(digits)}f} %"
