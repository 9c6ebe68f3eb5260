// Submits the token-post form (protocol.md section 3) as soon as the page is ready.
// It is a file, not an inline script, so the page keeps a strict Content-Security-Policy;
// the form's visible "Continue" button covers browsers without script.
(function () {
  "use strict";

  function submitTokenPost() {
    var form = document.getElementById("token-post");
    if (form) {
      // The prototype's submit, because a field named "submit" would shadow form.submit.
      HTMLFormElement.prototype.submit.call(form);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", submitTokenPost);
  } else {
    submitTokenPost();
  }
})();
