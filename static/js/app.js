// The pages' few behaviours, from data attributes (the Content-Security-Policy allows no inline
// script or event handler): data-autosubmit submits its form on change, data-confirm asks before
// its form is sent, data-copy="<id>" copies that element's text. Escape folds the phone menu
// (base.html; it opens and folds without JavaScript too).
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
