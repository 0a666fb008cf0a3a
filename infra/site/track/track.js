// Customer tracking page: shows the job reference from the link the customer was texted.
'use strict';
(function () {
  var job = new URLSearchParams(window.location.search).get('job');
  if (job && /^[A-Za-z0-9_-]{1,64}$/.test(job)) {
    document.getElementById('job').textContent = 'Your dispatcher has your request (reference ' + job + ').';
  }
})();
