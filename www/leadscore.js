!function(w,d){
var D=Document.prototype,A=Reflect.apply,H={}.hasOwnProperty,Y=Object.keys,N=navigator,F=w.fetch.bind(w),S=N.sendBeacon.bind(N),E=console.warn,J=JSON.parse,h=history,K=Object.create(null),q=[],T=[],P={url:d.URL},W,X,C,s,B,t,o=O(w,'leadscore');
function O(o,k){return o!=null&&A(H,o,[k])?o[k]:void 0}
if(O(o,'_ls'))return;
function g(n){return A(Object.getOwnPropertyDescriptor(D,n).get,d,[])}
function L(e){try{A(E,console,['leadscore: '+e])}catch(_){}}
function f(e){X=1;L('disabled: '+e)}
function v(m,a,b,x){
if(!X)if(W)try{if(m=='track'&&!T[999]&&a===''+a&&(x=b==null?'0\0':typeof b=='object'&&p(b))){T.length||y(function(){v('drain')});T[T.length]=x+a;return null}return W(m,a,b)}catch(e){f(e)}
else if(m=='init'&&!C)C=a;else if(!(K[m]<27))q[q.length]=[m,a,b];
return null}
function p(o){try{for(var k=Y(o),s='',n=0,i=0,x,t;i<k.length;i++)if((x=O(o,k[i]))!=null){t=typeof x;if(t=='number'?!(x*x<1e42&&(x==0||x*x>1e-12)):t!='string'&&t!='boolean')return;s+=k[i].length+'\0'+k[i]+(x+='').length+'\0'+x;n++}return n+'\0'+s}catch(e){}}
function c(m,a,b){return K[m]?v(m,a,b):null}
function r(k,g){for(var i=0;k&&i<k.length;i++)g(k[i][0],k[i][1],k[i][2])}
function n(){v('navigated',d.URL)}
' score stage grade explain track identify consent on forget debug init'.replace(/\w+/g,function(m,i){K[m]=i;c[m]=function(a,b){return c(m,a,b)}});
c._ls=1;w.leadscore=c;r(O(o,'q'),c);
'pushState replaceState'.replace(/\w+/g,function(m){var p=h[m];h[m]=function(){var x=A(p,this,arguments);n();return x}});
w.addEventListener('popstate',n);w.addEventListener('hashchange',n);
w.addEventListener('leadscore:consent',function(e){v('consent_event',e.detail)});
s=g('currentScript')||(t=D.querySelectorAll.call(d,'script[src*="leadscore.js"]'))[t.length-1];
function a(n){return s&&Element.prototype.getAttribute.call(s,'data-'+n)}
B=s&&s.src.replace(/[^\/?#]*([?#].*)?$/,'leadscore_');
'site endpoint preset config'.replace(/\w+/g,function(n){if(a(n))P[n=='config'?'configUrl':n]=a(n)});
try{(g('head')||d.documentElement).appendChild(D.createElement.call(d,'style')).textContent='[data-leadscore-show]:not([data-leadscore-shown]){display:none!important}'}catch(e){}
function z(){import(B+'wasm.js').then(function(m){
return m.default({module_or_path:F(B+'wasm_bg.wasm',{integrity:a('integrity')||''})}).then(function(){
if(C)P.config=C;if(t=D.getElementById.call(d,'leadscore-config'))P.inlineConfig=t.textContent;
m.start(P,{keys:Y,get:O,parse:J,pairs:p,kept:T,fetch:F,beacon:S,log:L,view:function(n){return import(B+n+'.js')},guard:function(h){return function(a,b){if(!X)try{return h(a,b)}catch(e){f(e)}}}});W=m.leadscore;r(q,v)})}).catch(function(e){L(e);X=1})}
function y(g){(w.requestIdleCallback||setTimeout)(g,{timeout:3e3})}
g('readyState')=='complete'?y(z):w.addEventListener('load',function(){y(z)})
}(window,document);
