#!/usr/bin/env bash
# Parley's quick start, step 1: two users and a room, over REST (needs curl and jq).
# It prints the variables the two clients read; load them with: eval "$(examples/quickstart.sh)"
set -euo pipefail
API=${PARLEY_URL:-http://127.0.0.1:8000}
NAMES=${NAMES:-demo}  # a suffix of your own: usernames are unique
post() {  # path, JSON body, and the bearer token when signed in
  curl -sSf "$API$1" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$2"
}

for who in alice bob; do  # register, then sign in (register answers with tokens too)
  post /api/v1/auth/register "{\"username\":\"${who}_$NAMES\",\"email\":\"${who}_$NAMES@example.com\",\"password\":\"correct horse battery\"}" >/dev/null
done
ALICE_TOKEN=$(post /api/v1/auth/login "{\"username\":\"alice_$NAMES\",\"password\":\"correct horse battery\"}" | jq -r .tokens.access_token)
BOB_TOKEN=$(post /api/v1/auth/login "{\"username\":\"bob_$NAMES\",\"password\":\"correct horse battery\"}" | jq -r .tokens.access_token)
ROOM=$(post /api/v1/rooms "{\"name\":\"lounge-$NAMES\"}" "$ALICE_TOKEN" | jq -r .id)  # Alice creates it
post "/api/v1/rooms/$ROOM/join" '{}' "$BOB_TOKEN" >/dev/null                          # Bob joins

echo "export PARLEY_URL=$API ROOM=$ROOM"
echo "export ALICE_TOKEN=$ALICE_TOKEN"
echo "export BOB_TOKEN=$BOB_TOKEN"
