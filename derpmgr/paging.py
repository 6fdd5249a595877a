"""A page of a long list found without counting the list.

Django's Paginator counts every row the filters select to say "page 3 of 2,000": on a table of
100,000 audit events that count is most of the page's cost, and grows with the table. This page
reads its rows and one more (is there a next page?) and nothing else; the pager shows Newer and
Older and the page's number, not the number of pages.
"""

MAX_PAGE = 1_000_000


class UncountedPage:
    def __init__(self, queryset, number, per_page: int):
        self.number = _page_number(number)
        start = (self.number - 1) * per_page
        rows = list(queryset[start:start + per_page + 1])
        self.object_list = rows[:per_page]
        self._more = len(rows) > per_page
        self.paginator = None  # no count: see the module's docstring

    def has_next(self) -> bool:
        return self._more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def _page_number(raw) -> int:
    text = str(raw or "")
    if text.isascii() and text.isdigit() and len(text) <= 7:
        return min(max(int(text), 1), MAX_PAGE)
    return 1
