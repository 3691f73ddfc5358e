/* The visitor's privacy panel, imported when an element marked
   data-leadscore-privacy is clicked. It says in plain words what this browser
   holds about the visitor and whether anything was sent, and offers to erase
   it all. Text only, in an open shadow root (it holds nothing the page cannot
   read with explain()); the buttons call act('erase') and act('close'). */
var STAGES = { cold: 'just looking', warm: 'interested', mql: 'a likely customer', sales_ready: 'ready to talk to sales' };

export function open(act) {
  var d = document;
  function el(tag, cls, text) {
    var e = d.createElement(tag);
    e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  var host = d.createElement('leadscore-privacy'), style = d.createElement('style'), shade = el('div', 'shade'),
    box = el('div', 'box'), body = el('div', 'text'), row = el('div', 'row'),
    erase = el('button', 'erase', 'Erase my data'), close = el('button', 'close', 'Close');
  host.setAttribute('style', 'all:initial;position:fixed;inset:0;z-index:2147483647');
  style.textContent = '.shade{position:fixed;inset:0;background:#0006;display:flex;align-items:center;justify-content:center}' +
    '.box{font:15px/1.5 system-ui,sans-serif;color:#1d2433;background:#fff;border-radius:10px;padding:20px 22px;' +
    'max-width:480px;width:calc(100% - 32px);box-shadow:0 8px 32px #0005;white-space:pre-wrap;max-height:80vh;overflow:auto}' +
    '.row{display:flex;gap:8px;justify-content:flex-end;margin-top:14px}' +
    'button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #3b5bdb;cursor:pointer}' +
    '.erase{background:#3b5bdb;color:#fff}.close{background:#fff;color:#3b5bdb}';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', 'Your data on this site');
  box.tabIndex = -1;
  row.appendChild(erase);
  row.appendChild(close);
  box.appendChild(body);
  box.appendChild(row);
  shade.appendChild(box);
  var root = host.attachShadow({ mode: 'open' });
  root.appendChild(style);
  root.appendChild(shade);
  erase.addEventListener('click', function () { act('erase'); });
  close.addEventListener('click', function () { act('close'); });
  d.body.appendChild(host);
  box.focus();
  return {
    draw: function (m) {
      var t = 'Your data on this site\n\nThis site estimates your interest in its products from what you do here: ' +
        'pages you view, time on them, downloads and forms. The estimate is made in your own browser; ' +
        'no cookies are used and nothing identifies your device.\n\n', i;
      if (m.erased) {
        t += 'Erased. This browser holds nothing about you for this site any more' +
          (m.sent || m.asked ? ', and the site was asked to erase what it received' : '') + '.\n';
      } else if (m.consent) {
        t += 'Stored in this browser (local storage, key "leadscore:' + m.site + '"):\n' +
          '• a random visitor id: ' + m.visitor + '\n' +
          '• ' + m.events + ' recorded actions, and a summary of older ones\n' +
          '• your interest score: ' + m.score.toFixed(0) + ' (' + STAGES[m.stage] + ')\n';
        for (i = 0; i < m.fields.length; i++) t += '• ' + m.fields[i] + '\n';
        t += 'It is deleted after ' + m.retention_days + ' days without a visit, or when you erase it here.\n\n' +
          (m.sent
            ? 'Sent to the site: when you qualified as a sales lead, your contact details and this activity summary were sent, once per stage.\n'
            : 'Sent to the site: nothing. Your details leave this browser only if you qualify as a sales lead, and only with your consent.\n');
      } else {
        t += 'Nothing is stored in this browser and nothing is sent: ' +
          (m.opt_out == 'gpc' ? "your browser's Global Privacy Control signal is on"
            : m.opt_out == 'dnt' ? "your browser's Do Not Track setting is on"
            : m.opt_out ? 'your consent choices say no'
            : m.in_memory ? 'you have not given consent (this page is scored in memory only)'
            : 'you have not given consent') + '.\n';
      }
      body.textContent = t;
    },
    close: function () {
      host.remove();
    }
  };
}
