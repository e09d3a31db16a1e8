// Hamlet's one script: autocomplete for the search boxes on /similar_to/ (an ARIA combobox:
// arrow keys move, Enter opens, Escape closes). The pages work without it: the forms submit
// and the server lists the matches.
"use strict";

function setupCombobox(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const source = input.dataset.autocomplete;
  const target = input.dataset.target;
  let items = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(i) {
    const options = list.querySelectorAll("[role=option]");
    options.forEach((o, j) => o.setAttribute("aria-selected", j === i ? "true" : "false"));
    active = i;
    if (i >= 0 && options[i]) {
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({ block: "nearest" });
    }
  }

  function go(item) {
    window.location.href = target + encodeURIComponent(item.id) + "/";
  }

  function render() {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.textContent = item.text;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); go(item); });
      list.appendChild(li);
    });
    if (items.length === 0) { close(); return; }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(-1);
  }

  async function fetchSuggestions() {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 2) { items = []; render(); return; }
    try {
      const res = await fetch(source + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } });
      if (!res.ok || mine !== seq) return;
      const body = await res.json();
      if (mine !== seq) return;
      items = body.results || [];
      render();
    } catch (_) {
      // A failed suggestion fetch leaves the plain form working.
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, 150);
  });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(active - 1, 0)); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); go(items[active]); }
    else if (e.key === "Escape") { close(); }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
}

document.querySelectorAll("input[data-autocomplete]").forEach(setupCombobox);
