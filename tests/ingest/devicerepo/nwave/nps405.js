// Nwave NPS405 parking sensor, written for placehub's tests from Nwave's published format:
// occupancy with the compressed duration of the previous state, heartbeat, startup, user tag.
var RESETS = ['rejoining_lorawan_network', 'watchdog', 'power_on', 'user_request', null, null,
              'brownout', 'other'];
function duration(compressed, data) {
  data.previous_state_duration_overflow = compressed >= 127;
  if (compressed < 90) { data.previous_state_duration = compressed; data.previous_state_duration_error = 0; }
  else if (compressed < 120) { data.previous_state_duration = 90 + (compressed - 90) * 5; data.previous_state_duration_error = 4; }
  else if (compressed < 127) { data.previous_state_duration = 240 + (compressed - 120) * 60; data.previous_state_duration_error = 59; }
}
function decodeUplink(input) {
  var b = input.bytes;
  var data;
  if (input.fPort === 1) {
    if (b.length !== 1) { return {errors: ['payload must be 1 byte']}; }
    data = {type: 'parking_status', occupied: (b[0] >> 7) === 1};
    duration(b[0] & 0x7F, data);
    return {data: data};
  }
  if (input.fPort === 2) {
    if (b.length !== 6) { return {errors: ['payload must be 6 bytes']}; }
    var t = b[2] & 0x80 ? b[2] - 0x100 : b[2];
    var temperature = t / 2 + 10;
    var millivolts = 2500 + b[1] * 4;
    var critical = temperature >= -5 ? 2900 : 2800, low = temperature >= -5 ? 3000 : 2900;
    return {data: {type: 'heartbeat', occupied: (b[0] >> 7) === 1, battery_voltage: millivolts / 1000,
                   temperature: temperature,
                   battery_health: millivolts >= low ? 'normal' : millivolts >= critical ? 'low' : 'critical',
                   hw_health_status: b[0] & 0x7F}};
  }
  if (input.fPort === 3) {
    if (b.length !== 5 || !RESETS[b[3]]) { return {errors: ['bad startup message']}; }
    return {data: {type: 'startup', firmware_version: b[0] + '.' + b[1] + '.' + b[2],
                   reset_cause: RESETS[b[3]], occupied: (b[4] & 1) === 1}};
  }
  if (input.fPort === 10) {
    if (b.length !== 5) { return {errors: ['payload must be 5 bytes']}; }
    data = {type: 'user_registration', occupied: (b[0] >> 7) === 1,
            tag_id: (((b[1] << 24) >>> 0) + (b[2] << 16) + (b[3] << 8) + b[4]).toString(16).toUpperCase()};
    if (data.occupied) { duration(b[0] & 0x7F, data); }
    return {data: data};
  }
  return {errors: ['unknown FPort']};
}
