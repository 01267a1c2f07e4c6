// Nwave NPS310 parking sensor, written for placehub's tests from Nwave's published format.
var RESETS = [null, 'watchdog', 'power_on', 'user_request', 'brownout', 'other'];
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort === 1 || input.fPort === 2) {
    if (b.length !== 1) { return {errors: ['payload must be 1 byte']}; }
    return {data: {type: input.fPort === 1 ? 'parking_status' : 'heartbeat', occupied: (b[0] & 1) === 1}};
  }
  if (input.fPort === 3) {
    if (b.length !== 5 || !RESETS[b[3]]) { return {errors: ['bad startup message']}; }
    return {data: {type: 'startup', firmware_version: b[0] + '.' + b[1] + '.' + b[2],
                   reset_cause: RESETS[b[3]], occupied: (b[4] & 1) === 1}};
  }
  return {errors: ['unknown FPort']};
}
