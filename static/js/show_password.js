// The sign-in page's "Show password" button: a file, not an inline script, so the page keeps
// its strict Content-Security-Policy. The button is a real <button>, so Enter and Space work;
// aria-pressed tells a screen reader whether the password is shown.
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
      button.setAttribute("aria-pressed", show ? "true" : "false");
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
