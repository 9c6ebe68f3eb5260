// Print buttons: <button data-print> opens the browser's print dialog; the page's print styles
// (portal.css, @media print) then show only what is inside .print-only. A file, not an inline
// script, so the page keeps a strict Content-Security-Policy.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });

  function show() {
    // Without script the button would do nothing, so it starts hidden, like the copy buttons.
    document.querySelectorAll("[data-print][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", show);
  } else {
    show();
  }
})();
