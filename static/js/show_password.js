// The sign-in page's "Show password" button: a file, not an inline script, so the page keeps
// its strict Content-Security-Policy. The button is a real <button>, so Enter and Space work;
// its words say what it will do next ("Show password", "Hide password"), as GOV.UK's does, and
// not also aria-pressed, which would make a screen reader say "Hide password, pressed".
(function () {
  "use strict";

  function wire() {
    var button = document.getElementById("password-toggle");
    var field = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = field.type === "password";
      field.type = show ? "text" : "password";
      button.textContent = show ? "Hide password" : "Show password";
    });
    // Never leave the password readable in a form the browser may restore or autofill.
    field.form.addEventListener("submit", function () {
      field.type = "password";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
