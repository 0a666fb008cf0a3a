// Dashboard shell: reports whether the relay API answers through this distribution.
'use strict';
(function () {
  var el = document.getElementById('status');
  fetch('/api/sms/status', { headers: { Accept: 'application/json' }, cache: 'no-store' })
    .then(function (res) {
      el.textContent = res.ok ? 'The relay is up.' : 'The relay answered ' + res.status + '.';
      el.dataset.state = res.ok ? 'up' : 'down';
    })
    .catch(function () {
      el.textContent = 'The relay cannot be reached.';
      el.dataset.state = 'down';
    });
})();
