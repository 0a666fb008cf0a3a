// Viewer-request function for the distribution's default (static site) behaviour.
// Rewrites the customer tracking page's short URLs, /track and /track/, to the object
// that holds it, /track/index.html; every other request passes through unchanged.
// The query string (e.g. ?job=...) is untouched: it lives in event.request.querystring.
// Runtime: cloudfront-js-2.0
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html
// Event shape:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html
function handler(event) {
  var request = event.request;
  if (request.uri === '/track' || request.uri === '/track/') {
    request.uri = '/track/index.html';
  }
  return request;
}
