// A failed sign-in's page is the answer to a POST: Back to it from the help or the forgotten
// password page would ask to send the form again ("Confirm Form Resubmission"). Replacing its
// history entry with the plain sign-in page for the same request (a GET, no username or error
// in it) makes Back, and Reload, show that page instead. A file: the page's CSP allows no inline
// script.
(function () {
  "use strict";
  var failed = document.querySelector("[data-history-url]");
  if (failed && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", failed.getAttribute("data-history-url"));
  }
})();
