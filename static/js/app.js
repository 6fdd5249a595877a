// The pages' few behaviours, from data attributes (the Content-Security-Policy allows no inline
// script or event handler): data-autosubmit submits its form on change, data-confirm asks before
// its form is sent, data-copy="<id>" copies that element's text, data-yuan="<id>" shows in that
// element the amount its box books (derpmgr/money.py parses the same way on the server).
// Escape folds the phone menu (base.html; it opens and folds without JavaScript too).
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-autosubmit]")) {
    event.target.form.submit();
  }
});

document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  var text = document.getElementById(button.dataset.copy).textContent;
  var done = function () {
    var note = button.parentNode.querySelector(".copied");
    note.hidden = false;
    setTimeout(function () { note.hidden = true; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  var area = document.createElement("textarea");  // plain http: the older way
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  document.body.removeChild(area);
  done();
});

document.addEventListener("keydown", function (event) {
  var toggle = document.getElementById("menu-toggle");
  if (event.key === "Escape" && toggle && toggle.checked) {
    toggle.checked = false;
    toggle.focus();
  }
});

function yuanToFen(text) {
  text = text.normalize("NFKC").replace(/\s/g, "").replace(/^¥/, "");
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(text)) {
    text = text.replace(/,/g, "");
  }
  var match = /^(\d{1,12})(?:\.(\d*))?$/.exec(text);
  if (!match) {
    return null;
  }
  var decimals = (match[2] || "").replace(/0+$/, "");
  if (decimals.length > 2) {
    return null;
  }
  return BigInt(match[1]) * 100n + BigInt((decimals + "00").slice(0, 2));
}

function formatFen(fen) {
  var yuan = (fen / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return "¥" + yuan + "." + (fen % 100n).toString().padStart(2, "0");
}

document.addEventListener("input", function (event) {
  var box = event.target;
  if (!box.matches("[data-yuan]")) {
    return;
  }
  var preview = document.getElementById(box.dataset.yuan);
  var fen = box.value.trim() === "" ? undefined : yuanToFen(box.value);
  preview.textContent = fen === undefined ? "" : fen === null ? box.dataset.yuanInvalid : formatFen(fen);
  preview.classList.toggle("invalid", fen === null);
});

// data-once: a confirmation button sends its form once (a double click buys nothing twice; the
// server refuses a second sending of the same review anyway).
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (event.defaultPrevented || !button || !button.matches("[data-once]")) {
    return;
  }
  if (button.dataset.sent) {
    event.preventDefault();
    return;
  }
  button.dataset.sent = "1";
});
