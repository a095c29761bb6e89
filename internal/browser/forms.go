package browser

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Forms are filled as a person fills them: a control is found by the text
// of its label (as a screen reader announces it) or by its name, text is
// typed into it key by key, and a form is sent by clicking its button.
// Each helper marks the control it found with a data attribute and acts on
// that, so the same control is found and acted on.

// locateJS finds a form control and marks it. It answers the marker's
// selector and how to fill the control, or an error naming what there is.
const locateJS = `(function(by, key, value) {
	const norm = s => (s || '').replace(/\s+/g, ' ').trim();
	const controls = 'input:not([type=hidden]), select, textarea';
	const labelText = l => {
		const c = l.cloneNode(true);
		c.querySelectorAll('input, select, textarea, button').forEach(e => e.remove());
		return norm(c.textContent);
	};
	let el = null;
	if (by === 'label') {
		for (const l of document.querySelectorAll('label')) {
			if (labelText(l) === norm(key) && l.control) { el = l.control; break; }
		}
		if (!el) el = [...document.querySelectorAll(controls)].find(c => norm(c.getAttribute('aria-label')) === norm(key));
	} else if (by === 'name') {
		const named = [...document.getElementsByName(key)].filter(c => c.matches(controls));
		el = named.find(c => (c.type === 'radio') ? c.value === value : true) || null;
	} else if (by === 'button') {
		el = [...document.querySelectorAll('button, input[type=submit], input[type=button]')]
			.find(b => norm(b.tagName === 'INPUT' ? b.value : b.textContent) === norm(key)) || null;
	} else if (by === 'link') {
		el = [...document.querySelectorAll('a[href]')].find(a => norm(a.textContent) === norm(key)) || null;
	}
	if (!el) {
		const have = by === 'label' ? [...document.querySelectorAll('label')].map(labelText)
			: by === 'name' ? [...document.querySelectorAll(controls)].map(c => c.name)
			: by === 'link' ? [...document.querySelectorAll('a[href]')].map(a => norm(a.textContent))
			: [...document.querySelectorAll('button, input[type=submit], input[type=button]')].map(b => norm(b.value || b.textContent));
		return {error: 'no ' + by + ' ' + JSON.stringify(key) + '; the page has: ' + JSON.stringify(have.filter(Boolean))};
	}
	window.__homewardMark = (window.__homewardMark || 0) + 1;
	el.setAttribute('data-homeward-target', String(window.__homewardMark));
	const type = (el.getAttribute('type') || '').toLowerCase();
	let how = 'type';
	if (el.tagName === 'SELECT') how = 'select';
	else if (type === 'checkbox' || type === 'radio') how = 'check';
	else if (['date', 'time', 'datetime-local', 'month', 'week', 'number', 'range', 'color'].includes(type)) how = 'set';
	else if (el.tagName !== 'INPUT' && el.tagName !== 'TEXTAREA') how = 'click';
	return {selector: '[data-homeward-target="' + window.__homewardMark + '"]', how: how};
})`

// setJS sets the value of the control sel as a person's choice would, and
// tells the page (input and change events). A select's option may be
// named by its value or its text.
const setJS = `(function(sel, value) {
	const el = document.querySelector(sel);
	if (el.tagName === 'SELECT') {
		const o = [...el.options].find(o => o.value === value) ||
			[...el.options].find(o => o.textContent.replace(/\s+/g, ' ').trim() === value);
		if (!o) return 'no option ' + JSON.stringify(value);
		el.value = o.value;
	} else {
		el.value = value;
	}
	el.dispatchEvent(new Event('input', {bubbles: true}));
	el.dispatchEvent(new Event('change', {bubbles: true}));
	return '';
})`

type located struct {
	Selector string `json:"selector"`
	How      string `json:"how"`
	Error    string `json:"error"`
}

func (b *Browser) locate(t testing.TB, by, key, value string) located {
	t.Helper()
	var l located
	b.Evaluate(t, fmt.Sprintf("%s(%s, %s, %s)", locateJS, js(by), js(key), js(value)), &l)
	if l.Error != "" {
		t.Fatalf("browser: %s", l.Error)
	}
	return l
}

// FillByLabel fills the control labelled label with value: text is typed,
// a select's option chosen by value or text, a date or number set. For a
// checkbox or radio button use Check.
func (b *Browser) FillByLabel(t testing.TB, label, value string) {
	t.Helper()
	b.fill(t, b.locate(t, "label", label, value), label, value)
}

// FillByName fills the control named name (for radio buttons, checks the
// one whose value is value).
func (b *Browser) FillByName(t testing.TB, name, value string) {
	t.Helper()
	b.fill(t, b.locate(t, "name", name, value), name, value)
}

func (b *Browser) fill(t testing.TB, l located, what, value string) {
	t.Helper()
	switch l.How {
	case "type":
		b.Evaluate(t, "document.querySelector("+js(l.Selector)+").value = ''", nil)
		b.run(t, "type into "+what, chromedp.SendKeys(l.Selector, value, chromedp.ByQuery))
	case "select", "set":
		var problem string
		b.Evaluate(t, fmt.Sprintf("%s(%s, %s)", setJS, js(l.Selector), js(value)), &problem)
		if problem != "" {
			t.Fatalf("browser: fill %s: %s", what, problem)
		}
	case "check":
		b.check(t, l, what)
	default:
		t.Fatalf("browser: %s is not a control that can be filled", what)
	}
}

// Check ticks the checkbox or chooses the radio button labelled label
// (clicking it, unless it is ticked already).
func (b *Browser) Check(t testing.TB, label string) {
	t.Helper()
	l := b.locate(t, "label", label, "")
	if l.How != "check" {
		t.Fatalf("browser: %q labels no checkbox or radio button", label)
	}
	b.check(t, l, label)
}

func (b *Browser) check(t testing.TB, l located, what string) {
	t.Helper()
	var checked bool
	b.Evaluate(t, "document.querySelector("+js(l.Selector)+").checked", &checked)
	if !checked {
		b.run(t, "check "+what, chromedp.Click(l.Selector, chromedp.ByQuery))
	}
}

// Submit clicks the button whose text is button and waits for the page the
// form leads to; it returns that page's HTTP status (after redirects).
func (b *Browser) Submit(t testing.TB, button string) int {
	t.Helper()
	return b.follow(t, b.locate(t, "button", button, ""), "submit with "+button)
}

// FollowLink clicks the link whose text is text and waits for the page; it
// returns that page's HTTP status.
func (b *Browser) FollowLink(t testing.TB, text string) int {
	t.Helper()
	return b.follow(t, b.locate(t, "link", text, ""), "follow "+text)
}

func (b *Browser) follow(t testing.TB, l located, what string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(l.Selector, chromedp.ByQuery))
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return int(resp.Status)
}
