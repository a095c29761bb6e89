// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  // A form is sent once: the submit button is disabled after the first
  // click (the hidden idempotency key makes a second send harmless anyway).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset.sent === "1") {
      e.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-disabled", "true");
      buttons[i].classList.add("is-sending");
    }
  });
})();
